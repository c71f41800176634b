package settings

// Action is what applying a file did to one item.
type Action string

const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// Kinds of items.
const (
	KindQueue        = "queue"
	KindTemplate     = "template"
	KindIntervention = "intervention"
)

// Item is the outcome for one queue, template or intervention of the file.
type Item struct {
	Kind   string
	Name   string
	Action Action
	// Changed names the keys an update changed ("title", "remote.timeout").
	Changed []string
	// RemoteToken is a remote token Tickiti generated for the intervention.
	// It is stored as it is (it is sent to the remote), but listings never
	// show it: this is the one chance to copy it.
	RemoteToken string
}

// Report is the outcome of applying a file, in file order: queues,
// templates, then interventions.
type Report struct {
	Items []Item
}

// Count is the number of items that had action a.
func (r *Report) Count(a Action) int {
	n := 0
	for _, it := range r.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}
