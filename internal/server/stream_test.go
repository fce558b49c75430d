package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ferrycd/ferry/internal/server"
)

type event struct{ N int }

func TestStreamFlushesEachLine(t *testing.T) {
	next := make(chan struct{})
	r := start(t, server.Config{}, func(s *server.Server) {
		s.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
			st := server.NewStream(w, r)
			_ = st.Send(event{1})
			// The second line is only written once the client has seen the
			// first: without a flush per line this would never happen.
			select {
			case <-next:
			case <-st.Context().Done():
				return
			}
			_ = st.Send(event{2})
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []int
	err := newClient(t, r).Stream(ctx, "/v1/events", func(m json.RawMessage) error {
		var e event
		if err := json.Unmarshal(m, &e); err != nil {
			return err
		}
		got = append(got, e.N)
		if e.N == 1 {
			close(next)
		}
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("stream: %v, err %v (a deadline error means line 1 was not flushed)", got, err)
	}
}

func TestStreamStopsOnCallbackErrorAndOnShutdown(t *testing.T) {
	started := make(chan struct{}, 2)
	ended := make(chan struct{}, 2)
	r := start(t, server.Config{}, func(s *server.Server) {
		s.HandleFunc("GET /v1/follow", func(w http.ResponseWriter, r *http.Request) {
			st := server.NewStream(w, r)
			started <- struct{}{}
			defer func() { ended <- struct{}{} }()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-st.Context().Done():
					return
				case <-tick.C:
					if st.Send(event{i}) != nil {
						return
					}
				}
			}
		})
	})
	c := newClient(t, r)
	enough := errors.New("enough")
	n := 0
	err := c.Stream(context.Background(), "/v1/follow", func(json.RawMessage) error {
		if n++; n == 3 {
			return enough
		}
		return nil
	})
	if !errors.Is(err, enough) || n != 3 {
		t.Fatalf("callback error: %v after %d values", err, n)
	}
	<-started
	select { // the client hung up: the handler's context must end
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("handler still streaming after the client left")
	}

	errc := make(chan error, 1)
	go func() {
		errc <- c.Stream(context.Background(), "/v1/follow", func(json.RawMessage) error { return nil })
	}()
	<-started
	if err := r.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("stream handler did not end on shutdown")
	}
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("client stream did not end on shutdown")
	}
}
