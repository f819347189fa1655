package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// CountWaitingOn counts the open instances that wait for user to act: what
// WaitingOn would list without a limit, so the App Home can say "and N
// more" without loading them.
func (db *DB) CountWaitingOn(ctx context.Context, user string) (int, error) {
	return db.count(ctx, bson.D{{Key: "waiting", Value: user}, {Key: "open", Value: true}}, "counting instances waiting on "+user)
}

// CountOpenRequests counts requester's requests that have not ended.
func (db *DB) CountOpenRequests(ctx context.Context, requester string) (int, error) {
	return db.count(ctx, bson.D{{Key: "requester", Value: requester}, {Key: "open", Value: true}}, "counting open requests of "+requester)
}

func (db *DB) count(ctx context.Context, filter bson.D, what string) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	n, err := db.instances.CountDocuments(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}
