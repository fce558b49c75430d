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

// BenchmarkListTasks lists the live tasks of one service among 1000 tasks
// of 10 services.
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
	b.ReportAllocs()
	for b.Loop() {
		tasks, err := s.ListTasks(ctx, TaskFilter{ServiceID: first, Live: true})
		if err != nil || len(tasks) != 50 {
			b.Fatalf("%d tasks, %v", len(tasks), err)
		}
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
