// Package uptime holds Lookout's domain: targets, check results, the
// per-target state machine and the errors every other package speaks.
//
// It uses the standard library only and does no I/O and no logging, so that
// everything in it can be tested as pure functions.
package uptime
