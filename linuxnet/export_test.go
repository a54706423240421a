package linuxnet

// RetryTransientForTest is RetryTransient, under the name the tests use.
var RetryTransientForTest = RetryTransient
