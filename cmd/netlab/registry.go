package main

// onlyRunningLab returns the topology file of the one running lab.
func onlyRunningLab() (string, error) { return "", errNoLab }
