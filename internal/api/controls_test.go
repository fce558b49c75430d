package api

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

func TestDeploymentControls(t *testing.T) {
	c, rec, _ := serve(t)
	ctx := context.Background()
	apiErr(t, c.Do(ctx, "POST", DeploymentPath(7)+"/abort", ControlRequest{Full: true}, nil),
		http.StatusBadRequest, "only a promote can be full")
	apiErr(t, c.Do(ctx, "POST", "/v1/deployments/x/pause", nil, nil), http.StatusBadRequest, "")
	if calls := rec.Calls(); len(calls) != 0 {
		t.Fatalf("refused requests reached the controller: %v", calls)
	}
	var res ControlResponse
	if err := c.Do(ctx, "POST", DeploymentPath(7)+"/promote", ControlRequest{Full: true}, &res); err != nil {
		t.Fatal(err)
	}
	if res != (ControlResponse{Deployment: 7, Action: "promote --full"}) {
		t.Fatalf("answer %+v", res)
	}
	for _, a := range []string{ControlPromote, ControlAbort, ControlPause, ControlResume} {
		if err := c.Do(ctx, "POST", DeploymentPath(7)+"/"+a, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"promote 7 full=true", "promote 7 full=false", "abort 7 full=false", "pause 7 full=false", "resume 7 full=false"}
	if got := rec.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("controller got %v, want %v", got, want)
	}
}
