package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/settings"
)

// maxSettingsFile bounds what apply reads: a settings file is small, and a
// wrong path (a database, a log) should fail fast.
const maxSettingsFile = 4 << 20

func newIntervention() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intervention",
		Short: "Manage interventions",
	}
	cmd.AddCommand(newInterventionApply(), newInterventionExport(), newRotateSigningSecret())
	return cmd
}

func newInterventionExport() *cobra.Command {
	return &cobra.Command{
		Use:   "export [NAME]",
		Short: "Write the queues, templates and interventions as a YAML file apply accepts",
		Long: `Write the settings as YAML on stdout, in the format "tickiti intervention
apply -f" reads: every queue, template and intervention or, with NAME, that
intervention with its queue and templates. Applying the output to the same
database changes nothing; applied elsewhere, it recreates the same settings.

Remote tokens are secrets and are never exported: applying an export keeps the
tokens already stored (and generates one, printed once, for an intervention
whose remote is enabled and that has none).`,
		Example: `  tickiti intervention export > settings.yaml
  tickiti intervention export discount_request`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			f, err := svc.ExportSettings(cmd.Context(), name)
			if err != nil {
				return err
			}
			out, err := settings.Marshal(f)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}

func newInterventionApply() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE.yaml",
		Short: "Create or update the queues, templates and interventions a YAML file declares",
		Long: `Create or update the queues, templates and interventions a YAML file
declares (see examples/discount_request.yaml). The whole file is checked first;
if anything is wrong, every problem is listed with its line and nothing is
applied. Otherwise everything is applied in one transaction.

Applying the same file again changes nothing. Items the file does not name are
left alone.

An intervention whose remote is enabled and that has no remote token gets a
generated one, printed once: store it in your remote system, which checks it
on every epilog call. An existing intervention keeps its token unless the file
sets remote.token.`,
		Example: `  tickiti intervention apply -f examples/discount_request.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, data, err := readSettings(cmd, file)
			if err != nil {
				return err
			}
			// Parse before opening the database, so a bad file touches
			// nothing, not even the database file.
			f, err := settings.Parse(name, data)
			if err != nil {
				return fmt.Errorf("%w\nnothing was applied", err)
			}
			svc, db, err := openService(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := svc.ApplySettings(cmd.Context(), f)
			if err != nil {
				return settingsError(name, err)
			}
			printReport(cmd.OutOrStdout(), name, rep)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", `settings file to apply ("-" reads stdin)`)
	cmd.MarkFlagRequired("file")
	return cmd
}

func readSettings(cmd *cobra.Command, file string) (name string, data []byte, err error) {
	var r io.Reader
	if file == "-" {
		name, r = "<stdin>", cmd.InOrStdin()
	} else {
		fh, err := os.Open(file)
		if err != nil {
			return "", nil, err
		}
		defer fh.Close()
		name, r = file, fh
	}
	data, err = io.ReadAll(io.LimitReader(r, maxSettingsFile+1))
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxSettingsFile {
		return "", nil, fmt.Errorf("%s: larger than %d MiB; is it a settings file?", name, maxSettingsFile>>20)
	}
	return name, data, nil
}

// settingsError prints the service's problems the way Parse prints its own,
// "FILE: line N: key.path: message", so all problems read alike.
func settingsError(name string, err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) && ae.Reason == apierr.ValidationFailed && len(ae.Fields) > 0 {
		return fmt.Errorf("%w\nnothing was applied", &settings.Error{File: name, Problems: settings.ProblemsOf(ae)})
	}
	return fmt.Errorf("%s: %w", name, err)
}

func printReport(w io.Writer, name string, rep *settings.Report) {
	for _, it := range rep.Items {
		line := fmt.Sprintf("%s %s: %s", it.Kind, it.Name, it.Action)
		if len(it.Changed) > 0 {
			line += " (" + strings.Join(it.Changed, ", ") + ")"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "applied %s: %d created, %d updated, %d unchanged\n", name,
		rep.Count(settings.Created), rep.Count(settings.Updated), rep.Count(settings.Unchanged))
	for _, it := range rep.Items {
		if it.RemoteToken != "" {
			fmt.Fprintf(w, "remote token for %s: %s — shown once, store it in your remote system\n", it.Name, it.RemoteToken)
		}
	}
}
