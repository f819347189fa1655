// Package api is Handoff's HTTP API for systems that start requests: an
// ERP that opens a purchase request, a script that cancels one. It is
// mounted under /api/v1 on the bot's listener.
//
// Every call carries a bearer token made by `handoff token create`, which
// names the processes it may see and what it may do there (start, read,
// cancel). Only the token's SHA-256 is stored. A request of another
// process is answered 404, as one that does not exist, so that a token
// learns nothing about what it may not see. Errors are RFC 9457 problem
// documents (application/problem+json). A start is checked exactly as the
// Slack form is (flows.Workflow.ParseValues), and an Idempotency-Key
// header makes a retried start return the request the first call made.
//
// The routes, their answers and their errors are described by
// openapi.json, served at /api/v1/openapi.json; a test holds the handlers
// and the document to the same list.
package api
