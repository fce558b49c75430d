package store

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkAppendEvent(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	e := Event{App: "shop", Env: "staging", Service: "web", Deployment: 1, Type: "deployment.step", Message: "weight 10%",
		Fields: []byte(`{"weight":10}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListTasks lists tasks of one service among 1000 tasks of 10
// services: its live ones (a query), and all of them as a reconciler's
// pass does, from the cache (taskcache.go) and from the database.
func BenchmarkListTasks(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	if _, err := s.PutApp(ctx, App{Name: "shop"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.EnsureEnvironment(ctx, "shop", "prod", EnvStandard); err != nil {
		b.Fatal(err)
	}
	var first int64
	err := s.Tx(ctx, func(tx *Tx) error {
		for i := range 10 {
			svc, err := tx.EnsureService(ctx, "shop", "prod", fmt.Sprint("svc", i))
			if err != nil {
				return err
			}
			if i == 0 {
				first = svc.ID
			}
			r := newRevision(b, tx, svc.ID)
			for j := range 100 {
				st := TaskHealthy
				if j%2 == 0 {
					st = TaskStopped
				}
				if _, err := tx.CreateTask(ctx, Task{ID: fmt.Sprintf("%d-%d", i, j), ServiceID: svc.ID, Revision: r.Number, Driver: "process", State: st}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		list func() ([]Task, error)
		want int
	}{
		{"live", func() ([]Task, error) { return s.ListTasks(ctx, TaskFilter{ServiceID: first, Live: true}) }, 50},
		{"service/cached", func() ([]Task, error) { return s.ListTasks(ctx, TaskFilter{ServiceID: first}) }, 100},
		{"service/database", func() ([]Task, error) { return listTasks(ctx, s.ops.q, TaskFilter{ServiceID: first}) }, 100},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tasks, err := c.list()
				if err != nil || len(tasks) != c.want {
					b.Fatalf("%d tasks, %v", len(tasks), err)
				}
			}
		})
	}
}

// BenchmarkAppendEventParallel is writes from several goroutines at once:
// one per core, and 32 per core as a rolling batch makes them, which the
// group commit turns into a few transactions.
func BenchmarkAppendEventParallel(b *testing.B) {
	for _, per := range []int{1, 32} {
		b.Run(fmt.Sprintf("%d-per-core", per), func(b *testing.B) {
			ctx := context.Background()
			s := openTemp(b)
			b.SetParallelism(per)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.AppendEvent(ctx, Event{Service: "web", Type: "task.healthy"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
