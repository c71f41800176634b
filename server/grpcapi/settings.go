package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/service"
)

// Interventions implements tickiti.v1.InterventionService on the service core.
type Interventions struct {
	v1.UnimplementedInterventionServiceServer
	svc *service.Service
}

// NewInterventions returns the InterventionService.
func NewInterventions(svc *service.Service) *Interventions { return &Interventions{svc: svc} }

func (h *Interventions) GetIntervention(ctx context.Context, req *v1.GetInterventionRequest) (*v1.Intervention, error) {
	return h.svc.GetIntervention(ctx, req.GetName())
}

func (h *Interventions) ListInterventions(ctx context.Context, req *v1.ListInterventionsRequest) (*v1.ListInterventionsResponse, error) {
	return h.svc.ListInterventions(ctx, req)
}

func (h *Interventions) CreateIntervention(ctx context.Context, req *v1.CreateInterventionRequest) (*v1.Intervention, error) {
	iv, err := h.svc.CreateIntervention(ctx, auth.From(ctx), req)
	if err != nil {
		return nil, err
	}
	return iv, answerCreated(ctx)
}

func (h *Interventions) UpdateIntervention(ctx context.Context, req *v1.UpdateInterventionRequest) (*v1.Intervention, error) {
	return h.svc.UpdateIntervention(ctx, auth.From(ctx), req)
}

func (h *Interventions) DeleteIntervention(ctx context.Context, req *v1.DeleteInterventionRequest) (*emptypb.Empty, error) {
	return h.svc.DeleteIntervention(ctx, auth.From(ctx), req.GetName())
}

func (h *Interventions) EnableIntervention(ctx context.Context, req *v1.EnableInterventionRequest) (*v1.Intervention, error) {
	return h.svc.SetInterventionEnabled(ctx, auth.From(ctx), req.GetName(), true)
}

func (h *Interventions) DisableIntervention(ctx context.Context, req *v1.DisableInterventionRequest) (*v1.Intervention, error) {
	return h.svc.SetInterventionEnabled(ctx, auth.From(ctx), req.GetName(), false)
}

func (h *Interventions) RotateSigningSecret(ctx context.Context, req *v1.RotateSigningSecretRequest) (*v1.RotateSigningSecretResponse, error) {
	secret, err := h.svc.RotateSigningSecret(ctx, auth.From(ctx), req.GetName(), req.GetOverlap().AsDuration())
	if err != nil {
		return nil, err
	}
	iv, err := h.svc.GetIntervention(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &v1.RotateSigningSecretResponse{Intervention: iv, SigningSecret: secret}, nil
}

func (h *Interventions) RotateRemoteToken(ctx context.Context, req *v1.RotateRemoteTokenRequest) (*v1.RotateRemoteTokenResponse, error) {
	return h.svc.RotateRemoteToken(ctx, auth.From(ctx), req.GetName())
}

// Templates implements tickiti.v1.TemplateService on the service core.
type Templates struct {
	v1.UnimplementedTemplateServiceServer
	svc *service.Service
}

// NewTemplates returns the TemplateService.
func NewTemplates(svc *service.Service) *Templates { return &Templates{svc: svc} }

func (h *Templates) GetTemplate(ctx context.Context, req *v1.GetTemplateRequest) (*v1.Template, error) {
	return h.svc.GetTemplate(ctx, req.GetIdentifier())
}

func (h *Templates) ListTemplates(ctx context.Context, req *v1.ListTemplatesRequest) (*v1.ListTemplatesResponse, error) {
	return h.svc.ListTemplates(ctx, req)
}

func (h *Templates) CreateTemplate(ctx context.Context, req *v1.CreateTemplateRequest) (*v1.Template, error) {
	t, err := h.svc.CreateTemplate(ctx, auth.From(ctx), req)
	if err != nil {
		return nil, err
	}
	return t, answerCreated(ctx)
}

func (h *Templates) UpdateTemplate(ctx context.Context, req *v1.UpdateTemplateRequest) (*v1.Template, error) {
	return h.svc.UpdateTemplate(ctx, auth.From(ctx), req)
}

func (h *Templates) DeleteTemplate(ctx context.Context, req *v1.DeleteTemplateRequest) (*emptypb.Empty, error) {
	return h.svc.DeleteTemplate(ctx, auth.From(ctx), req.GetIdentifier())
}

func (h *Templates) RenderTemplate(ctx context.Context, req *v1.RenderTemplateRequest) (*v1.RenderTemplateResponse, error) {
	return h.svc.RenderTemplate(ctx, req)
}

// Queues implements tickiti.v1.QueueService on the service core.
type Queues struct {
	v1.UnimplementedQueueServiceServer
	svc *service.Service
}

// NewQueues returns the QueueService.
func NewQueues(svc *service.Service) *Queues { return &Queues{svc: svc} }

func (h *Queues) GetQueue(ctx context.Context, req *v1.GetQueueRequest) (*v1.Queue, error) {
	return h.svc.GetQueue(ctx, req.GetName())
}

func (h *Queues) ListQueues(ctx context.Context, req *v1.ListQueuesRequest) (*v1.ListQueuesResponse, error) {
	return h.svc.ListQueues(ctx, req)
}

func (h *Queues) CreateQueue(ctx context.Context, req *v1.CreateQueueRequest) (*v1.Queue, error) {
	q, err := h.svc.CreateQueue(ctx, auth.From(ctx), req)
	if err != nil {
		return nil, err
	}
	return q, answerCreated(ctx)
}

func (h *Queues) UpdateQueue(ctx context.Context, req *v1.UpdateQueueRequest) (*v1.Queue, error) {
	return h.svc.UpdateQueue(ctx, auth.From(ctx), req)
}

func (h *Queues) DeleteQueue(ctx context.Context, req *v1.DeleteQueueRequest) (*emptypb.Empty, error) {
	return h.svc.DeleteQueue(ctx, auth.From(ctx), req.GetName())
}
