package mongo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/paymon/paymon/internal/alert"
)

// AlertStore implements alert.Store on the Store's database, shared by
// every instance.
//
// Every transition is decided by a unique-index insert, never by a
// conditional update: FerretDB v1 evaluates an update's filter and writes
// its result in two steps, so two instances could both "win" a
// {state: firing} → resolved update.
//   - Fire: the alert document carries firing_key = hash(fingerprint)
//     under a unique index; of concurrent inserts one succeeds.
//   - Resolve: the resolver first inserts a marker {_id: alert id} into
//     alert_resolutions; the one whose insert succeeds has won, and then
//     sets state resolved and firing_key "resolved:"+id on the alert,
//     which frees the fingerprint for the next episode. A plain unique
//     index thus does what a partial one (WHERE state = 'firing') would.
type AlertStore struct {
	s                   *Store
	alerts, resolutions *mongo.Collection
}

// NewAlertStore returns the alert store on s's database and creates its
// indexes.
func NewAlertStore(ctx context.Context, s *Store) (*AlertStore, error) {
	a := &AlertStore{s: s, alerts: s.db.Collection("alerts"), resolutions: s.db.Collection("alert_resolutions")}
	indexes := []index{
		{a.alerts, "firing_key", bson.D{{Key: "firing_key", Value: 1}}, true},
		{a.alerts, "state_started", bson.D{{Key: "state", Value: 1}, {Key: "started_at", Value: -1}}, false},
		{a.alerts, "rule_started", bson.D{{Key: "rule", Value: 1}, {Key: "started_at", Value: -1}}, false},
		{a.alerts, "started", bson.D{{Key: "started_at", Value: -1}}, false},
	}
	if err := ensureIndexes(ctx, indexes); err != nil {
		return nil, err
	}
	return a, nil
}

type alertDoc struct {
	ID          string            `bson:"_id"`
	FiringKey   string            `bson:"firing_key"`
	Fingerprint string            `bson:"fingerprint"`
	Rule        string            `bson:"rule"`
	Severity    string            `bson:"severity"`
	State       string            `bson:"state"`
	Summary     string            `bson:"summary"`
	Labels      map[string]string `bson:"labels"`
	StartedAt   time.Time         `bson:"started_at"`
	ResolvedAt  *time.Time        `bson:"resolved_at,omitempty"`
}

func (d *alertDoc) alert() alert.Alert {
	a := alert.Alert{ID: d.ID, Rule: d.Rule, Severity: alert.Severity(d.Severity), State: alert.State(d.State),
		Summary: d.Summary, Labels: d.Labels, Fingerprint: d.Fingerprint, StartedAt: d.StartedAt.UTC()}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if d.ResolvedAt != nil {
		t := d.ResolvedAt.UTC()
		a.ResolvedAt = &t
	}
	return a
}

// firingKey keeps the unique index's keys short and free of the control
// characters fingerprints contain.
func firingKey(fingerprint string) string {
	h := sha256.Sum256([]byte(fingerprint))
	return "firing:" + hex.EncodeToString(h[:])
}

// FireAlert implements alert.Store.
func (a *AlertStore) FireAlert(ctx context.Context, al alert.Alert) (bool, error) {
	start := time.Now()
	labels := al.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	_, err := a.alerts.InsertOne(ctx, alertDoc{ID: al.ID, FiringKey: firingKey(al.Fingerprint), Fingerprint: al.Fingerprint,
		Rule: al.Rule, Severity: string(al.Severity), State: string(alert.Firing), Summary: al.Summary, Labels: labels,
		StartedAt: msTime(al.StartedAt)})
	if isDuplicate(err) {
		return false, a.s.done("fire_alert", start, nil)
	}
	return err == nil, a.s.done("fire_alert", start, err)
}

type resolutionDoc struct {
	ID         string    `bson:"_id"` // the alert's id
	ResolvedAt time.Time `bson:"resolved_at"`
}

// ResolveAlert implements alert.Store.
func (a *AlertStore) ResolveAlert(ctx context.Context, fingerprint string, at time.Time) (alert.Alert, error) {
	start := time.Now()
	var d alertDoc
	err := a.alerts.FindOne(ctx, bson.D{{Key: "firing_key", Value: firingKey(fingerprint)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		_ = a.s.done("resolve_alert", start, nil)
		return alert.Alert{}, alert.ErrNotFiring
	}
	if err != nil {
		return alert.Alert{}, a.s.done("resolve_alert", start, err)
	}
	at = msTime(at)
	_, err = a.resolutions.InsertOne(ctx, resolutionDoc{ID: d.ID, ResolvedAt: at})
	won := err == nil
	if isDuplicate(err) {
		// Another caller won. Its update may not have happened yet (or it
		// died before it): finish it with the winner's time, so that an
		// alert whose marker exists never stays firing. Writing the same
		// values twice is harmless.
		var r resolutionDoc
		if err = a.resolutions.FindOne(ctx, bson.D{{Key: "_id", Value: d.ID}}).Decode(&r); err == nil {
			at = r.ResolvedAt
		}
	}
	if err != nil {
		return alert.Alert{}, a.s.done("resolve_alert", start, err)
	}
	_, err = a.alerts.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "state", Value: string(alert.Firing)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(alert.Resolved)}, {Key: "resolved_at", Value: at},
			{Key: "firing_key", Value: "resolved:" + d.ID}}}})
	if err != nil {
		// The marker is in: a later ResolveAlert of this fingerprint
		// completes the update.
		return alert.Alert{}, a.s.done("resolve_alert", start, err)
	}
	if !won {
		_ = a.s.done("resolve_alert", start, nil)
		return alert.Alert{}, alert.ErrNotFiring
	}
	d.State, d.ResolvedAt, d.FiringKey = string(alert.Resolved), &at, "resolved:"+d.ID
	return d.alert(), a.s.done("resolve_alert", start, nil)
}

// ListAlerts implements alert.Store.
func (a *AlertStore) ListAlerts(ctx context.Context, f alert.Filter) ([]alert.Alert, error) {
	start := time.Now()
	q := bson.D{}
	if f.State != "" {
		q = append(q, bson.E{Key: "state", Value: string(f.State)})
	}
	if f.Rule != "" {
		q = append(q, bson.E{Key: "rule", Value: f.Rule})
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	cur, err := a.alerts.Find(ctx, q, options.Find().
		SetSort(bson.D{{Key: "started_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, a.s.done("list_alerts", start, err)
	}
	var docs []alertDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, a.s.done("list_alerts", start, err)
	}
	out := make([]alert.Alert, len(docs))
	for i := range docs {
		out[i] = docs[i].alert()
	}
	return out, a.s.done("list_alerts", start, nil)
}
