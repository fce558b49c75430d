// Package config owns ferry.yaml v1, the deploy definition that lives in an
// application's repository: its schema, the template functions expanded in
// its values (env, must_env, file, tfstate, json_escape, secret), strict
// decoding with positioned problems, environment and preview overlays,
// defaults, rendering with secrets masked and the pre-deploy checks behind
// `ferry verify`.
//
// It reads the definition file, the files it names, Terraform state and
// secrets; it never writes anything, never talks to the store, the server or
// the router, and never starts a process.
package config
