package embedded

import (
	"context"
	"log/slog"
)

// quietHandler demotes FerretDB's records below Error to Debug.
//
// FerretDB logs every connection at Info and every failed command at Warn,
// with the whole request and response. A failed command (a duplicate key on
// an upsert, say) is normal for us and reaches our code as a driver error, so
// at those levels it would only flood the output and leak payloads. Debug
// keeps them within reach when someone turns it on; real failures stay
// visible at Error.
type quietHandler struct {
	inner slog.Handler
}

func (h quietHandler) level(l slog.Level) slog.Level {
	if l < slog.LevelError {
		return slog.LevelDebug
	}
	return l
}

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, h.level(l))
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = h.level(r.Level)
	return h.inner.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{inner: h.inner.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{inner: h.inner.WithGroup(name)}
}
