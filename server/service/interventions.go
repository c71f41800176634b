package service

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"entgo.io/ent/dialect"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/deliveryattempt"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/ent/payload"
	"github.com/tickiti/tickiti/ent/queue"
	"github.com/tickiti/tickiti/ent/schema"
	"github.com/tickiti/tickiti/ent/template"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/settings"
	"github.com/tickiti/tickiti/server/uifield"
)

// Resource kinds in the audit log.
const (
	resIntervention = "intervention"
	resTemplate     = "template"
	resQueue        = "queue"
)

// ivValues are the settings of an intervention that the settings file and
// the settings API both set. Saving goes through saveIntervention, so both
// doors write and audit the same way.
type ivValues struct {
	Title         string
	QueueID       int
	Queue         string // the queue's name, for the audit log
	Enabled       bool
	RemoteEnabled bool
	EpilogURL     string
	Timeout       time.Duration // whole seconds once checked
	Token         string
	Fields        []uifield.Field
}

func valuesOf(iv *ent.Intervention, queueName string) ivValues {
	return ivValues{
		Title: iv.Title, QueueID: iv.QueueID, Queue: queueName, Enabled: iv.Enabled,
		RemoteEnabled: iv.RemoteEnabled, EpilogURL: iv.RemoteEpilogURL, Timeout: time.Duration(iv.RemoteTimeoutSeconds) * time.Second,
		Token: iv.RemoteToken, Fields: iv.Fields,
	}
}

// ivChanges lists what differs from old to v, in a fixed order, with the
// names the API uses; old is nil for a creation (then only what is set is
// listed). The remote token is never written, only that it changed.
func ivChanges(old *ivValues, v ivValues) []schema.AuditChange {
	o := ivValues{}
	if old != nil {
		o = *old
	}
	var cs []schema.AuditChange
	add := func(field string, oldV, newV any, same bool) {
		if same {
			return
		}
		c := schema.AuditChange{Field: field, New: newV}
		if old != nil {
			c.Old = oldV
		}
		cs = append(cs, c)
	}
	add("title", o.Title, v.Title, o.Title == v.Title)
	add("queue", o.Queue, v.Queue, o.QueueID == v.QueueID)
	add("enabled", o.Enabled, v.Enabled, o.Enabled == v.Enabled)
	add("remote_enabled", o.RemoteEnabled, v.RemoteEnabled, o.RemoteEnabled == v.RemoteEnabled)
	add("remote_epilog_url", o.EpilogURL, v.EpilogURL, o.EpilogURL == v.EpilogURL)
	add("remote_timeout", int(o.Timeout/time.Second), int(v.Timeout/time.Second), o.Timeout == v.Timeout)
	add("remote_token", redacted(o.Token), redacted(v.Token), o.Token == v.Token)
	add("fields", o.Fields, v.Fields, uifield.Equal(o.Fields, v.Fields) || (old == nil && len(v.Fields) == 0))
	return cs
}

// redacted stands for a secret in the audit log: whether it was set, never
// its value.
func redacted(secret string) any {
	if secret == "" {
		return nil
	}
	return Redacted
}

// saveIntervention creates (old nil) or updates the intervention name with
// v in tx and records it in the audit log. It writes nothing when nothing
// changed, and returns the changes.
func saveIntervention(ctx context.Context, tx *ent.Tx, p *auth.Principal, name string, old *ent.Intervention, oldQueue string, v ivValues) ([]schema.AuditChange, error) {
	if v.Fields == nil {
		v.Fields = []uifield.Field{} // stored as [], not null
	}
	if old == nil {
		changes := ivChanges(nil, v)
		err := tx.Intervention.Create().SetName(name).SetTitle(v.Title).SetQueueID(v.QueueID).
			SetEnabled(v.Enabled).SetRemoteEnabled(v.RemoteEnabled).SetRemoteEpilogURL(v.EpilogURL).
			SetRemoteTimeoutSeconds(int(v.Timeout / time.Second)).SetRemoteToken(v.Token).SetFields(v.Fields).Exec(ctx)
		if err != nil {
			return nil, err
		}
		return changes, audit(ctx, tx, p, resIntervention, name, "create", changes...)
	}
	ov := valuesOf(old, oldQueue)
	changes := ivChanges(&ov, v)
	if len(changes) == 0 {
		return nil, nil
	}
	// Only the changed columns are written, so a concurrent update of
	// other fields is not undone.
	up := tx.Intervention.UpdateOneID(old.ID)
	for _, c := range changes {
		switch c.Field {
		case "title":
			up.SetTitle(v.Title)
		case "queue":
			up.SetQueueID(v.QueueID)
		case "enabled":
			up.SetEnabled(v.Enabled)
		case "remote_enabled":
			up.SetRemoteEnabled(v.RemoteEnabled)
		case "remote_epilog_url":
			up.SetRemoteEpilogURL(v.EpilogURL)
		case "remote_timeout":
			up.SetRemoteTimeoutSeconds(int(v.Timeout / time.Second))
		case "remote_token":
			up.SetRemoteToken(v.Token)
		case "fields":
			up.SetFields(v.Fields)
		}
	}
	if err := up.Exec(ctx); err != nil {
		return nil, err
	}
	return changes, audit(ctx, tx, p, resIntervention, name, "update", changes...)
}

// checkValues applies the rules of settings.CheckIntervention (the same the
// settings file meets) to API values, naming problems by API field paths.
func checkValues(name, queueName string, v ivValues) error {
	rel := settings.CheckIntervention(settings.Intervention{
		Name: name, Title: v.Title, Queue: queueName, Enabled: v.Enabled, Fields: v.Fields,
		Remote: settings.Remote{Enabled: v.RemoteEnabled, EpilogURL: v.EpilogURL, Timeout: v.Timeout},
	})
	var val apierr.Validation
	for _, p := range rel {
		val.Add(apiPath(p.Path), "%s", p.Message)
	}
	return val.Err()
}

// apiPath turns a settings-file path relative to an intervention into the
// API's: the file nests the remote block and calls default_value default.
func apiPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "remote."); ok {
		return "remote_" + rest
	}
	if strings.HasPrefix(p, "fields[") && strings.HasSuffix(p, ".default") {
		return p + "_value"
	}
	return p
}

// lockRow makes a read-modify-write of an intervention safe against a
// concurrent one (the old values it reads are the ones it changes, and the
// audit log's old values are right). On PostgreSQL the row is locked; SQLite
// needs no lock, its transactions take the write lock up front.
func (s *Service) lockRow(q *ent.InterventionQuery) *ent.InterventionQuery {
	if s.db.Dialect == dialect.Postgres {
		q.ForUpdate()
	}
	return q
}

// lockIntervention reads the intervention name for a read-modify-write in
// a transaction (q is tx.Intervention.Query(), with the edges wanted), locked
// by lockRow; not_found when there is none.
func (s *Service) lockIntervention(ctx context.Context, q *ent.InterventionQuery, name string) (*ent.Intervention, error) {
	iv, err := s.lockRow(q.Where(intervention.Name(name))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, interventionNotFound(name)
	}
	return iv, err
}

// GetIntervention returns an intervention.
func (s *Service) GetIntervention(ctx context.Context, name string) (*v1.Intervention, error) {
	iv, err := s.db.Intervention.Query().Where(intervention.Name(name)).WithQueue().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, interventionNotFound(name)
	}
	if err != nil {
		return nil, s.internal("load intervention", err)
	}
	return interventionProto(iv), nil
}

func interventionNotFound(name string) error {
	return apierr.New(apierr.NotFound, "Intervention %q not found.", name)
}

// ListInterventions lists interventions in creation order (AIP-158).
func (s *Service) ListInterventions(ctx context.Context, req *v1.ListInterventionsRequest) (*v1.ListInterventionsResponse, error) {
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(), "interventions")
	if err != nil {
		return nil, err
	}
	ivs, err := s.db.Intervention.Query().Where(intervention.IDGT(page.After)).
		Order(ent.Asc(intervention.FieldID)).Limit(page.Size + 1).WithQueue().All(ctx)
	if err != nil {
		return nil, s.internal("list interventions", err)
	}
	out := &v1.ListInterventionsResponse{}
	ivs, out.NextPageToken = pageOf(page, ivs, func(iv *ent.Intervention) int { return iv.ID })
	for _, iv := range ivs {
		out.Interventions = append(out.Interventions, interventionProto(iv))
	}
	return out, nil
}

// CreateIntervention creates a disabled intervention without a remote token.
func (s *Service) CreateIntervention(ctx context.Context, p *auth.Principal, req *v1.CreateInterventionRequest) (*v1.Intervention, error) {
	in := req.GetIntervention()
	v := ivValues{
		Title: in.GetTitle(), RemoteEnabled: in.GetRemoteEnabled(), EpilogURL: in.GetRemoteEpilogUrl(),
		Timeout: timeout(in.GetRemoteTimeout()), Fields: fieldsOf(in.GetFields()),
	}
	if err := checkValues(in.GetName(), in.GetQueue(), v); err != nil {
		return nil, err
	}
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		exists, err := tx.Intervention.Query().Where(intervention.Name(in.GetName())).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return apierr.New(apierr.Conflict, "An intervention named %q already exists.", in.GetName())
		}
		if v.QueueID, err = s.queueID(ctx, tx, in.GetQueue()); err != nil {
			return err
		}
		v.Queue = in.GetQueue()
		_, err = saveIntervention(ctx, tx, p, in.GetName(), nil, "", v)
		return err
	})
	if ent.IsConstraintError(err) {
		return nil, apierr.New(apierr.Conflict, "An intervention named %q already exists.", in.GetName())
	}
	if err != nil {
		return nil, s.internal("create intervention", err)
	}
	return s.GetIntervention(ctx, in.GetName())
}

// queueID resolves a queue name, or fails on the field "queue". On
// PostgreSQL the queue is share-locked, so that a concurrent DeleteQueue
// waits and then sees the intervention using it, rather than deleting it
// under the insert or update that refers to it.
func (s *Service) queueID(ctx context.Context, tx *ent.Tx, name string) (int, error) {
	q := tx.Queue.Query().Where(queue.Name(name))
	if s.db.Dialect == dialect.Postgres {
		q.ForShare()
	}
	id, err := q.OnlyID(ctx)
	if ent.IsNotFound(err) {
		return 0, apierr.Invalid("queue", "there is no queue %q", name)
	}
	return id, err
}

// Update-mask paths of an intervention.
var ivPaths = map[string]bool{
	"title": true, "queue": true, "remote_enabled": true, "remote_epilog_url": true,
	"remote_timeout": true, "fields": true,
}

// Paths a mask may name that an update ignores: the identifier and the
// output-only fields, so a resource read with Get can be sent back whole.
var ivIgnored = map[string]bool{
	"name": true, "enabled": true, "remote_token_set": true, "create_time": true, "update_time": true,
}

// UpdateIntervention changes the fields update_mask names.
func (s *Service) UpdateIntervention(ctx context.Context, p *auth.Principal, req *v1.UpdateInterventionRequest) (*v1.Intervention, error) {
	in := req.GetIntervention()
	name := in.GetName()
	paths, err := maskPaths(req.GetUpdateMask(), in, ivPaths, ivIgnored)
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *ent.Tx) error {
		old, err := s.lockIntervention(ctx, tx.Intervention.Query().WithQueue(), name)
		if err != nil {
			return err
		}
		v := valuesOf(old, old.Edges.Queue.Name)
		for path := range paths {
			switch path {
			case "title":
				v.Title = in.GetTitle()
			case "queue":
				v.Queue = in.GetQueue()
			case "remote_enabled":
				v.RemoteEnabled = in.GetRemoteEnabled()
			case "remote_epilog_url":
				v.EpilogURL = in.GetRemoteEpilogUrl()
			case "remote_timeout":
				v.Timeout = timeout(in.GetRemoteTimeout())
			case "fields":
				v.Fields = fieldsOf(in.GetFields())
			}
		}
		if err := checkValues(name, v.Queue, v); err != nil {
			return err
		}
		if v.Queue != old.Edges.Queue.Name {
			if v.QueueID, err = s.queueID(ctx, tx, v.Queue); err != nil {
				return err
			}
		}
		_, err = saveIntervention(ctx, tx, p, name, old, old.Edges.Queue.Name, v)
		return err
	})
	if err != nil {
		return nil, s.internal("update intervention", err)
	}
	return s.GetIntervention(ctx, name)
}

// maskPaths validates an update mask against the resource's updatable
// paths. "*" names all of them; no mask means every field set in msg
// (AIP-134); ignored paths are dropped.
func maskPaths(mask *fieldmaskpb.FieldMask, msg proto.Message, updatable, ignored map[string]bool) (map[string]bool, error) {
	out := map[string]bool{}
	requested := mask.GetPaths()
	if len(requested) == 0 && msg.ProtoReflect().IsValid() {
		msg.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			requested = append(requested, string(fd.Name()))
			return true
		})
	}
	var v apierr.Validation
	for _, path := range requested {
		switch {
		case path == "*":
			for p := range updatable {
				out[p] = true
			}
		case updatable[path]:
			out[path] = true
		case ignored[path]:
		default:
			v.Add("update_mask", "%q is not a field that can be updated.", path)
		}
	}
	return out, v.Err()
}

// DeleteIntervention deletes an intervention with its finished payloads,
// unless one of its payloads is still open or submitted.
func (s *Service) DeleteIntervention(ctx context.Context, p *auth.Principal, name string) (*emptypb.Empty, error) {
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		iv, err := s.lockIntervention(ctx, tx.Intervention.Query(), name)
		if err != nil {
			return err
		}
		busy, err := tx.Payload.Query().Where(payload.InterventionID(iv.ID),
			payload.StatusIn(payload.StatusOpen, payload.StatusSubmitted)).Count(ctx)
		if err != nil {
			return err
		}
		if busy > 0 {
			return apierr.New(apierr.Conflict,
				"The intervention %q has %d open or submitted payload(s): staff or the remote system still have work on them. Disable it instead, and delete it once they are delivered or completed.",
				name, busy)
		}
		// Finished payloads go with it: attempts, deliveries, payloads.
		of := payload.InterventionID(iv.ID)
		if _, err := tx.DeliveryAttempt.Delete().Where(deliveryattempt.HasDeliveryWith(delivery.HasPayloadWith(of))).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.Delivery.Delete().Where(delivery.HasPayloadWith(of)).Exec(ctx); err != nil {
			return err
		}
		finished, err := tx.Payload.Delete().Where(of).Exec(ctx)
		if err != nil {
			return err
		}
		if err := tx.Intervention.DeleteOneID(iv.ID).Exec(ctx); err != nil {
			return err
		}
		var changes []schema.AuditChange
		if finished > 0 {
			changes = append(changes, schema.AuditChange{Field: "finished_payloads", Old: finished})
		}
		return audit(ctx, tx, p, resIntervention, name, "delete", changes...)
	})
	if ent.IsConstraintError(err) {
		// A ticket was created for it meanwhile.
		return nil, apierr.New(apierr.Conflict, "The intervention %q got a new ticket meanwhile; disable it first.", name)
	}
	if err != nil {
		return nil, s.internal("delete intervention", err)
	}
	return &emptypb.Empty{}, nil
}

// SetInterventionEnabled enables or disables an intervention. Enabling
// needs its .private template, which every new ticket renders.
func (s *Service) SetInterventionEnabled(ctx context.Context, p *auth.Principal, name string, enabled bool) (*v1.Intervention, error) {
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		iv, err := s.lockIntervention(ctx, tx.Intervention.Query(), name)
		if err != nil {
			return err
		}
		if iv.Enabled == enabled {
			return nil
		}
		action := "disable"
		if enabled {
			action = "enable"
			private := name + ".private"
			ok, err := tx.Template.Query().Where(template.Identifier(private)).Exist(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return apierr.New(apierr.Conflict,
					"The intervention %q cannot be enabled: its template %s is missing (it is rendered as a staff note on every new ticket). Create it first.",
					name, private)
			}
		}
		if err := tx.Intervention.UpdateOneID(iv.ID).SetEnabled(enabled).Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, resIntervention, name, action,
			schema.AuditChange{Field: "enabled", Old: iv.Enabled, New: enabled})
	})
	if err != nil {
		return nil, s.internal("enable intervention", err)
	}
	return s.GetIntervention(ctx, name)
}

// RotateRemoteToken gives the intervention a new remote bearer token and
// returns it, this once.
func (s *Service) RotateRemoteToken(ctx context.Context, p *auth.Principal, name string) (*v1.RotateRemoteTokenResponse, error) {
	token := auth.NewSecret()
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		iv, err := s.lockIntervention(ctx, tx.Intervention.Query(), name)
		if err != nil {
			return err
		}
		if err := tx.Intervention.UpdateOneID(iv.ID).SetRemoteToken(token).Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, resIntervention, name, "rotate_token",
			schema.AuditChange{Field: "remote_token", Old: redacted(iv.RemoteToken), New: Redacted})
	})
	if err != nil {
		return nil, s.internal("rotate remote token", err)
	}
	iv, err := s.GetIntervention(ctx, name)
	if err != nil {
		return nil, err
	}
	return &v1.RotateRemoteTokenResponse{Intervention: iv, RemoteToken: token}, nil
}

// interventionProto is the API view of an intervention (with its queue
// loaded). The remote token and signing secrets never leave the core here.
func interventionProto(iv *ent.Intervention) *v1.Intervention {
	out := &v1.Intervention{
		Name: iv.Name, Title: iv.Title, Enabled: iv.Enabled, RemoteEnabled: iv.RemoteEnabled,
		RemoteEpilogUrl: iv.RemoteEpilogURL, RemoteTimeout: durationpb.New(time.Duration(iv.RemoteTimeoutSeconds) * time.Second),
		RemoteTokenSet: iv.RemoteToken != "", SigningSecretSet: iv.SigningSecret != "",
		CreateTime: timestamppb.New(iv.CreatedAt), UpdateTime: timestamppb.New(iv.UpdatedAt),
	}
	if q := iv.Edges.Queue; q != nil {
		out.Queue = q.Name
	}
	for _, f := range iv.Fields {
		out.Fields = append(out.Fields, fieldProto(f))
	}
	return out
}

func fieldProto(f uifield.Field) *v1.UIField {
	out := &v1.UIField{Type: f.Type, Name: f.Name, Label: f.Label, Required: f.Required, Help: f.Help,
		DefaultValue: f.DefaultValue(), Min: f.Min, Max: f.Max}
	for _, o := range f.Options {
		out.Options = append(out.Options, &v1.UIFieldOption{Value: o.Value, Label: o.Label})
	}
	return out
}

func fieldsOf(in []*v1.UIField) []uifield.Field {
	var out []uifield.Field
	for _, f := range in {
		uf := uifield.Field{Type: f.GetType(), Name: f.GetName(), Label: f.GetLabel(), Required: f.GetRequired(),
			Help: f.GetHelp(), Min: f.Min, Max: f.Max}
		if d := f.GetDefaultValue(); d != nil {
			uf.Default = d.AsInterface()
			if _, isNull := d.GetKind().(*structpb.Value_NullValue); isNull {
				uf.Default = nil
			}
		}
		for _, o := range f.GetOptions() {
			uf.Options = append(uf.Options, uifield.Option{Value: o.GetValue(), Label: o.GetLabel()})
		}
		out = append(out, uifield.Normalize(uf))
	}
	return out
}

// timeout reads remote_timeout: 10 s when not given.
func timeout(d *durationpb.Duration) time.Duration {
	if d == nil {
		return settings.DefaultTimeout
	}
	return d.AsDuration()
}
