package main

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs"
)

// runAutograder is Gradescope's entry point in the bundle: it grades the
// one submitted file in a fresh instance of the student's variant, with
// the static netlab binary beside it; results.json is written even when
// the machine cannot run labs. AUTOGRADER moves /autograder, for tests.
const runAutograder = `#!/usr/bin/env bash
# netlab autograder for lab %[1]s (made by netlab lab bundle gradescope).
set -u
AUTOGRADER=${AUTOGRADER:-/autograder}
cd "$AUTOGRADER/source"
# Exit status 0 (every check passed), 1 (some failed) and 2 (not graded)
# all leave results.json for Gradescope to read.
./netlab lab check %[2]s --gradescope "$AUTOGRADER"
exit 0
`

// setupScript runs once when Gradescope builds the image: the binary is
// static, nothing is downloaded.
const setupScript = `#!/usr/bin/env bash
# netlab needs nothing installed: the netlab binary beside this file is static.
chmod +x /autograder/source/netlab /autograder/source/run_autograder
`

func newLabBundleCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var out string
	cmd := &cobra.Command{
		Use:   "bundle gradescope LAB [-o autograder.zip]",
		Short: "Make Gradescope's autograder zip for a lab: setup.sh, run_autograder, the static netlab binary (and the lab's folder)",
		Long: `The zip holds setup.sh and run_autograder at its root, as Gradescope asks,
and this netlab binary; nothing is downloaded at grading time. A lab of
the course is built into the binary; a lab folder of your own is added as
lab/. Each submission is graded in a fresh instance of its student's
variant (the student is the submitter's Gradescope id). Gradescope's
containers must let netlab make network namespaces (root with
CAP_SYS_ADMIN and CAP_NET_ADMIN): results.json says so when they do not.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "gradescope" {
				return fmt.Errorf("bundle %q: netlab makes gradescope bundles", args[0])
			}
			lab, err := labs.Find(args[1])
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			name := lab.Name
			var folder fs.FS
			if strings.ContainsRune(args[1], '/') || args[1] == "." {
				name, folder = "lab", os.DirFS(args[1])
			}
			if err := writeBundle(out, lab, name, exe, folder); err != nil {
				return err
			}
			return printOut(o, t.format, map[string]string{"bundle": out, "lab": lab.Name}, func() {
				fmt.Fprintf(o.stdout, "%s: Gradescope autograder for %s (%s)\n", out, lab.Name, lab.Title)
			})
		},
	}
	addFormatFlag(cmd, t)
	cmd.Flags().StringVarP(&out, "output", "o", "autograder.zip", "the zip to write")
	return cmd
}

// writeBundle writes the zip: the scripts, the binary exe, and folder as
// lab/ when the lab is not built in (name is how run_autograder names it).
func writeBundle(out string, lab *labs.Lab, name, exe string, folder fs.FS) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	z := zip.NewWriter(f)
	add := func(name string, mode os.FileMode, r io.Reader) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := z.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, r)
		return err
	}
	labArg := lab.Name
	if folder != nil {
		labArg = "./lab"
	}
	if err := add("run_autograder", 0o755, strings.NewReader(fmt.Sprintf(runAutograder, lab.Name, labArg))); err != nil {
		return err
	}
	if err := add("setup.sh", 0o755, strings.NewReader(setupScript)); err != nil {
		return err
	}
	bin, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer bin.Close()
	if err := add("netlab", 0o755, bin); err != nil {
		return err
	}
	if folder != nil {
		err := fs.WalkDir(folder, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			r, err := folder.Open(p)
			if err != nil {
				return err
			}
			defer r.Close()
			return add(path.Join(name, p), 0o644, r)
		})
		if err != nil {
			return err
		}
	}
	return z.Close()
}
