// Package rig is the test rig the chaos and soak suites share: it builds
// the real ferry binary, runs a ferry home (optionally on its own small
// filesystem) with router, server and the hello example, drives traffic
// through the router while recording every failed request, and reads the
// ground truth from /proc and from the store's SQLite file (read-only).
//
// It owns nothing of ferry's: it only runs the binary and reads the files
// and processes a ferry home leaves, never writing to the store.
package rig
