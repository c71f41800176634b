// Command tickiti is the Tickiti interventions server and its admin CLI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tickiti/tickiti/server/service"
	"github.com/tickiti/tickiti/server/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tickiti:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "tickiti",
		Short:         "Tickiti interventions: remote systems ask staff for a decision and get the result back",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("db", envOr("TICKITI_DB", "sqlite:./data/tickiti.db"),
		"database URL: sqlite:PATH or postgres://... (env TICKITI_DB)")
	root.AddCommand(newServe(), newMigrate(), newIntervention(), newToken(), newUser())
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// openDB opens and migrates the database named by --db. Every command
// migrates, so the CLI works on a fresh database and beside a running server.
func openDB(cmd *cobra.Command) (*store.DB, error) {
	url, _ := cmd.Flags().GetString("db")
	db, err := store.Open(cmd.Context(), url)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(cmd.Context()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openService opens the database and the service core on it; close the
// returned DB when done.
func openService(cmd *cobra.Command) (*service.Service, *store.DB, error) {
	db, err := openDB(cmd)
	if err != nil {
		return nil, nil, err
	}
	return service.New(db, service.Options{}), db, nil
}

func newMigrate() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openDB(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			fmt.Fprintln(cmd.OutOrStdout(), "schema is up to date")
			return nil
		},
	}
}
