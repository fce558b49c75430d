package notify

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSend is the caller's cost of Send: filter, summary, marshal,
// enqueue. The receiver answers at once; when it falls behind, the queue
// drops the oldest (logged to a discarding handler).
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	n := New(Options{Logger: slog.New(slog.DiscardHandler)})
	tgt := []Target{{URL: srv.URL + "/hook", Secret: secret}}
	ev := event(EventStep)
	b.ReportAllocs()
	for b.Loop() {
		n.Send(tgt, ev)
	}
	b.StopTimer()
	n.Close(context.Background())
}
