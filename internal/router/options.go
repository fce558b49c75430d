package router

import (
	"log/slog"
	"time"
)

// Options tune the listener and the upstream side. Zero fields take the
// defaults below, so Options{} is a working configuration.
type Options struct {
	// StatePath is the routing table's file; "" keeps the table in memory only.
	StatePath string
	// MaxBodyBytes caps a request body (413 beyond it). Default 64 MiB.
	MaxBodyBytes int64
	// MaxHeaderBytes caps the request line and headers (431 beyond it). Default 64 KiB.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds reading a request's headers (slowloris). Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a request's body. Default 60s.
	ReadTimeout time.Duration
	// WriteTimeout bounds one write to a client that makes no progress. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle that long. Default 120s.
	IdleTimeout time.Duration
	// ConnectTimeout bounds dialing a target. Default 2s.
	ConnectTimeout time.Duration
	// AccessLog logs one line per proxied request.
	AccessLog bool
	// Logger receives the router's structured logs. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	def(&o.ReadHeaderTimeout, 10*time.Second)
	def(&o.ReadTimeout, 60*time.Second)
	def(&o.WriteTimeout, 30*time.Second)
	def(&o.IdleTimeout, 120*time.Second)
	def(&o.ConnectTimeout, 2*time.Second)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
