package notify

import (
	"errors"
	"net/url"
)

// redact shows an endpoint as scheme://host only: webhook URLs often carry
// their credential in the path or query (Slack, Discord, Teams).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

// cleanErr strips the full URL that net/http puts in its errors.
func cleanErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
