// Command hello is the example app that ferry's quickstart and tests deploy.
// It answers / with its version, revision and task id, serves /healthz, and
// misbehaves on purpose when told to by HELLO_* environment variables (see
// config.go). It uses only the standard library so it builds anywhere with
// CGO_ENABLED=0. It knows nothing of ferry beyond the PORT and FERRY_*
// variables ferry gives every task.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	// Subscribe before the start delay so a stop during start-up is honoured.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	if cfg.CrashAfter > 0 {
		time.AfterFunc(cfg.CrashAfter, func() {
			fmt.Fprintf(os.Stderr, "hello: crashing on purpose after %s (HELLO_CRASH_AFTER)\n", cfg.CrashAfter)
			os.Exit(1)
		})
	}
	if cfg.StartDelay > 0 {
		log.Printf("hello: delaying start by %s (HELLO_START_DELAY)", cfg.StartDelay)
		select {
		case <-time.After(cfg.StartDelay):
		case <-term:
			return nil
		}
	}
	ln, err := net.Listen("tcp", ":"+cfg.Port)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newHandler(cfg), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Printf("hello %s (revision %q, task %q) listening on %s", cfg.Version, cfg.Revision, cfg.TaskID, ln.Addr())

	select {
	case err := <-served:
		return err
	case sig := <-term:
		if cfg.IgnoreTerm > 0 {
			log.Printf("hello: got %s, serving on for %s (HELLO_IGNORE_SIGTERM)", sig, cfg.IgnoreTerm)
			time.Sleep(cfg.IgnoreTerm)
		}
		log.Printf("hello: got %s, shutting down", sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
