package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/runtime/docker"
)

// newImageCmd groups the verbs that make node images locally.
func newImageCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build node images locally from Debian's packages (no registry needed)",
	}
	cmd.AddCommand(newImageBuildCmd(o), newImageListCmd(o))
	return cmd
}

func newImageBuildCmd(o *options) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "build NAME...",
		Short: "Build Debian-based node images: " + strings.Join(recipeNames(), ", "),
		Long: `Build node images on the local Docker engine from Debian's packages:
the base (debian) with debootstrap, imported into the engine; the others
on it with apt-get. An image is tagged netlab/NAME:<hash of its recipe> and
netlab/NAME:latest, and built again only when its recipe changes, so a
second build of the same recipe takes a second. Name it in a topology as
image: netlab/NAME.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if _, ok := docker.DebianRecipeNamed(a); !ok {
					return fmt.Errorf("no image recipe %q (netlab builds: %s)", a, strings.Join(recipeNames(), ", "))
				}
			}
			rt, err := docker.New(cmd.Context(), docker.Options{})
			if err != nil {
				return err
			}
			defer rt.Close()
			var progress func(string)
			if format != "json" && interactive() {
				progress = func(s string) { fmt.Fprintln(o.stderr, s) }
			}
			var built []docker.BuiltImage
			for _, a := range args {
				img, err := rt.BuildDebian(cmd.Context(), a, progress)
				if err != nil {
					return err
				}
				built = append(built, img)
			}
			return printOut(o, format, built, func() {
				for _, img := range built {
					what := "up to date"
					if img.Built {
						what = "built"
					}
					fmt.Fprintf(o.stdout, "%s: %s (%s, %.1fs)\n", img.Name, img.Ref, what, img.Took.Seconds())
				}
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

func newImageListCmd(o *options) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the images netlab can build, and what each is for",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type entry struct {
				Name  string `json:"name"`
				Image string `json:"image"`
				About string `json:"about"`
			}
			var list []entry
			for _, r := range docker.DebianRecipes() {
				list = append(list, entry{r.Name, docker.DebianRepo(r.Name), r.About})
			}
			return printOut(o, format, list, func() {
				for _, e := range list {
					fmt.Fprintf(o.stdout, "%-8s %-16s %s\n", e.Name, e.Image, e.About)
				}
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

func recipeNames() []string {
	var names []string
	for _, r := range docker.DebianRecipes() {
		names = append(names, r.Name)
	}
	return names
}
