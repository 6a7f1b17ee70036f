// Package licensingtest holds a test double of licensing.Services: a
// struct with a function field per method, so a command's output, exit codes
// and questions can be tested against exactly the answers a test needs,
// without a store. A method whose field is nil fails the call with an error
// naming it, so a test never passes on a call it did not expect.
package licensingtest

import (
	"context"
	"fmt"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

var _ licensing.Services = (*Services)(nil)

// Services is a licensing.Services whose every method calls its Fn field.
// Close with no CloseFn succeeds.
type Services struct {
	ActivateFn            func(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error)
	ActivateOfflineFn     func(ctx context.Context, request []byte) (*licensing.OfflineActivation, error)
	AssignMaintenanceFn   func(ctx context.Context, id string, key string) (*licensing.MaintenancePlan, error)
	AuthenticateFn        func(ctx context.Context, secret string) (licensing.Principal, error)
	BuyFn                 func(ctx context.Context, req licensing.BuyRequest, progress func(done int)) (*licensing.Purchase, error)
	BuyMaintenanceFn      func(ctx context.Context, req licensing.MaintenanceBuyRequest, progress func(done int)) (*licensing.MaintenancePurchase, error)
	CloseFn               func() error
	ConfirmAttachFn       func(ctx context.Context, code string) (*licensing.AttachResult, error)
	CreateAccountFn       func(ctx context.Context, email string) (*licensing.Account, error)
	CreateCompanyFn       func(ctx context.Context, name string) (*licensing.Company, error)
	CreateTokenFn         func(ctx context.Context, req licensing.TokenRequest) (*licensing.Token, error)
	DeactivateFn          func(ctx context.Context, r licensing.DeactivateRequest) (*licensing.Activation, error)
	DueRenewalsFn         func(ctx context.Context, until time.Time) ([]licensing.Renewal, error)
	FindProductFn         func(ctx context.Context, sku string) (*licensing.Product, error)
	GetLicenseFn          func(ctx context.Context, key string) (*licensing.LicenseDetail, error)
	GroupLicensesFn       func(ctx context.Context, f licensing.LicenseFilter) ([]licensing.LicenseGroup, error)
	ImportProductsFn      func(ctx context.Context, products []licensing.Product) (int, error)
	AddBuildFn            func(ctx context.Context, b licensing.Build) (*licensing.Build, error)
	ListBuildsFn          func(ctx context.Context, sku string) ([]licensing.Build, error)
	ImportCatalogFn       func(ctx context.Context, products []licensing.Product, builds []licensing.Build) (*licensing.CatalogImport, error)
	DownloadFn            func(ctx context.Context, r licensing.DownloadRequest) (*licensing.Download, error)
	OpenDownloadFn        func(ctx context.Context, r licensing.DownloadRequest, offset int64) (*licensing.Download, *licensing.DownloadBody, error)
	ListAccountsFn        func(ctx context.Context) ([]licensing.Account, error)
	ListActivationsFn     func(ctx context.Context, f licensing.ActivationFilter) ([]licensing.Activation, error)
	ListAuditFn           func(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error)
	ListCompaniesFn       func(ctx context.Context) ([]licensing.Company, error)
	ListLicensesFn        func(ctx context.Context, f licensing.LicenseFilter, fn func(*licensing.License) error) error
	ListMaintenanceFn     func(ctx context.Context, f licensing.MaintenanceFilter) ([]licensing.MaintenancePlan, error)
	ListProductsFn        func(ctx context.Context) ([]licensing.Product, error)
	ListTokensFn          func(ctx context.Context) ([]licensing.Token, error)
	QuoteFn               func(ctx context.Context, req licensing.BuyRequest) (*licensing.Purchase, error)
	QuoteMaintenanceFn    func(ctx context.Context, req licensing.MaintenanceBuyRequest) (*licensing.MaintenancePurchase, error)
	ReleaseOfflineFn      func(ctx context.Context, proof []byte) (*licensing.Activation, error)
	RequestAttachFn       func(ctx context.Context, req licensing.AttachRequest, mailer licensing.Mailer) (*licensing.AttachPending, error)
	RevokeTokenFn         func(ctx context.Context, prefix string) error
	RotateSigningKeyFn    func(ctx context.Context) (*licensing.SigningKey, error)
	RunRenewalsFn         func(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error)
	SigningKeysFn         func(ctx context.Context) ([]licensing.SigningKey, error)
	UpdateLicenseFn       func(ctx context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error)
	UpdateMaintenanceFn   func(ctx context.Context, id string, u licensing.MaintenanceUpdate) (*licensing.MaintenancePlan, error)
	ListPurchasesFn       func(ctx context.Context, f licensing.PurchaseFilter) ([]licensing.PurchaseRow, error)
	GetPurchaseFn         func(ctx context.Context, id string) (*licensing.PurchaseDetail, error)
	RefundPurchaseFn      func(ctx context.Context, req licensing.RefundRequest) (*licensing.Purchase, error)
	CancelLicenseFn       func(ctx context.Context, key string, undo bool) (*licensing.License, error)
	CancelMaintenanceFn   func(ctx context.Context, id string, undo bool) (*licensing.MaintenancePlan, error)
	ListEventsFn          func(ctx context.Context, f licensing.EventFilter) ([]licensing.Event, error)
	CreateWebhookFn       func(ctx context.Context, req licensing.WebhookCreate) (*licensing.Webhook, error)
	ListWebhooksFn        func(ctx context.Context) ([]licensing.Webhook, error)
	DeleteWebhookFn       func(ctx context.Context, id int64) error
	EnableWebhookFn       func(ctx context.Context, id int64) (*licensing.Webhook, error)
	ListDeliveriesFn      func(ctx context.Context, f licensing.DeliveryFilter) ([]licensing.WebhookDelivery, error)
	RedeliverFn           func(ctx context.Context, id int64) (*licensing.WebhookDelivery, error)
	TestWebhookFn         func(ctx context.Context, id int64) (*licensing.WebhookTest, error)
	NotificationsFn       func(ctx context.Context) (*licensing.NotificationSettings, error)
	SetNotificationsFn    func(ctx context.Context, u licensing.NotificationUpdate) (*licensing.NotificationSettings, error)
	ShowBillingFn         func(ctx context.Context) (*licensing.Billing, error)
	SetupBillingFn        func(ctx context.Context) (*licensing.Billing, error)
	ReconcilePaymentsFn   func(ctx context.Context, since time.Time) (*licensing.Reconciliation, error)
	HandlePaymentEventFn  func(ctx context.Context, payload []byte, signature string) error
	CreateOperatorFn      func(ctx context.Context, name string) (*licensing.Operator, error)
	ListOperatorsFn       func(ctx context.Context) ([]licensing.Operator, error)
	SetOperatorDisabledFn func(ctx context.Context, name string, disabled bool) (*licensing.Operator, error)
	CreateOperatorTokenFn func(ctx context.Context, name string, req licensing.TokenRequest) (*licensing.Token, error)
	ListOperatorTokensFn  func(ctx context.Context, name string) ([]licensing.Token, error)
	FindLicenseFn         func(ctx context.Context, key string) (*licensing.LicenseOwner, error)
	FindPurchaseFn        func(ctx context.Context, purchaseID string) (*licensing.PurchaseOwner, error)
	SetAccountDisabledFn  func(ctx context.Context, email string, disabled bool) (*licensing.Account, error)
	RevokeOperatorTokenFn func(ctx context.Context, prefix string) error
	HeartbeatFn           func(ctx context.Context, id int64) (*licensing.Activation, error)
	ReleaseStaleFn        func(ctx context.Context, stale time.Duration, dryRun bool) ([]licensing.Activation, error)
	ValidateLicenseFn     func(ctx context.Context, key string, fingerprint string, version string) (*licensing.Validation, error)
}

func unexpected(method string) error {
	return fmt.Errorf("licensingtest.Services: unexpected call to %s", method)
}

func (s *Services) Activate(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
	if s.ActivateFn == nil {
		return nil, unexpected("Activate")
	}
	return s.ActivateFn(ctx, r)
}

func (s *Services) ActivateOffline(ctx context.Context, request []byte) (*licensing.OfflineActivation, error) {
	if s.ActivateOfflineFn == nil {
		return nil, unexpected("ActivateOffline")
	}
	return s.ActivateOfflineFn(ctx, request)
}

func (s *Services) AssignMaintenance(ctx context.Context, id string, key string) (*licensing.MaintenancePlan, error) {
	if s.AssignMaintenanceFn == nil {
		return nil, unexpected("AssignMaintenance")
	}
	return s.AssignMaintenanceFn(ctx, id, key)
}

func (s *Services) Authenticate(ctx context.Context, secret string) (licensing.Principal, error) {
	if s.AuthenticateFn == nil {
		return licensing.Principal{}, unexpected("Authenticate")
	}
	return s.AuthenticateFn(ctx, secret)
}

func (s *Services) Buy(ctx context.Context, req licensing.BuyRequest, progress func(done int)) (*licensing.Purchase, error) {
	if s.BuyFn == nil {
		return nil, unexpected("Buy")
	}
	return s.BuyFn(ctx, req, progress)
}

func (s *Services) BuyMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest, progress func(done int)) (*licensing.MaintenancePurchase, error) {
	if s.BuyMaintenanceFn == nil {
		return nil, unexpected("BuyMaintenance")
	}
	return s.BuyMaintenanceFn(ctx, req, progress)
}

func (s *Services) Close() error {
	if s.CloseFn == nil {
		return nil
	}
	return s.CloseFn()
}

func (s *Services) ConfirmAttach(ctx context.Context, code string) (*licensing.AttachResult, error) {
	if s.ConfirmAttachFn == nil {
		return nil, unexpected("ConfirmAttach")
	}
	return s.ConfirmAttachFn(ctx, code)
}

func (s *Services) CreateAccount(ctx context.Context, email string) (*licensing.Account, error) {
	if s.CreateAccountFn == nil {
		return nil, unexpected("CreateAccount")
	}
	return s.CreateAccountFn(ctx, email)
}

func (s *Services) CreateCompany(ctx context.Context, name string) (*licensing.Company, error) {
	if s.CreateCompanyFn == nil {
		return nil, unexpected("CreateCompany")
	}
	return s.CreateCompanyFn(ctx, name)
}

func (s *Services) CreateToken(ctx context.Context, req licensing.TokenRequest) (*licensing.Token, error) {
	if s.CreateTokenFn == nil {
		return nil, unexpected("CreateToken")
	}
	return s.CreateTokenFn(ctx, req)
}

func (s *Services) Deactivate(ctx context.Context, r licensing.DeactivateRequest) (*licensing.Activation, error) {
	if s.DeactivateFn == nil {
		return nil, unexpected("Deactivate")
	}
	return s.DeactivateFn(ctx, r)
}

func (s *Services) DueRenewals(ctx context.Context, until time.Time) ([]licensing.Renewal, error) {
	if s.DueRenewalsFn == nil {
		return nil, unexpected("DueRenewals")
	}
	return s.DueRenewalsFn(ctx, until)
}

func (s *Services) FindProduct(ctx context.Context, sku string) (*licensing.Product, error) {
	if s.FindProductFn == nil {
		return nil, unexpected("FindProduct")
	}
	return s.FindProductFn(ctx, sku)
}

func (s *Services) GetLicense(ctx context.Context, key string) (*licensing.LicenseDetail, error) {
	if s.GetLicenseFn == nil {
		return nil, unexpected("GetLicense")
	}
	return s.GetLicenseFn(ctx, key)
}

func (s *Services) GroupLicenses(ctx context.Context, f licensing.LicenseFilter) ([]licensing.LicenseGroup, error) {
	if s.GroupLicensesFn == nil {
		return nil, unexpected("GroupLicenses")
	}
	return s.GroupLicensesFn(ctx, f)
}

func (s *Services) ImportProducts(ctx context.Context, products []licensing.Product) (int, error) {
	if s.ImportProductsFn == nil {
		return 0, unexpected("ImportProducts")
	}
	return s.ImportProductsFn(ctx, products)
}

func (s *Services) AddBuild(ctx context.Context, b licensing.Build) (*licensing.Build, error) {
	if s.AddBuildFn == nil {
		return nil, unexpected("AddBuild")
	}
	return s.AddBuildFn(ctx, b)
}

func (s *Services) ListBuilds(ctx context.Context, sku string) ([]licensing.Build, error) {
	if s.ListBuildsFn == nil {
		return nil, unexpected("ListBuilds")
	}
	return s.ListBuildsFn(ctx, sku)
}

func (s *Services) ImportCatalog(ctx context.Context, products []licensing.Product, builds []licensing.Build) (*licensing.CatalogImport, error) {
	if s.ImportCatalogFn == nil {
		return nil, unexpected("ImportCatalog")
	}
	return s.ImportCatalogFn(ctx, products, builds)
}

func (s *Services) Download(ctx context.Context, r licensing.DownloadRequest) (*licensing.Download, error) {
	if s.DownloadFn == nil {
		return nil, unexpected("Download")
	}
	return s.DownloadFn(ctx, r)
}

func (s *Services) OpenDownload(ctx context.Context, r licensing.DownloadRequest, offset int64) (*licensing.Download, *licensing.DownloadBody, error) {
	if s.OpenDownloadFn == nil {
		return nil, nil, unexpected("OpenDownload")
	}
	return s.OpenDownloadFn(ctx, r, offset)
}

func (s *Services) ListAccounts(ctx context.Context) ([]licensing.Account, error) {
	if s.ListAccountsFn == nil {
		return nil, unexpected("ListAccounts")
	}
	return s.ListAccountsFn(ctx)
}

func (s *Services) ListActivations(ctx context.Context, f licensing.ActivationFilter) ([]licensing.Activation, error) {
	if s.ListActivationsFn == nil {
		return nil, unexpected("ListActivations")
	}
	return s.ListActivationsFn(ctx, f)
}

func (s *Services) ListAudit(ctx context.Context, f licensing.AuditFilter) ([]licensing.AuditEvent, error) {
	if s.ListAuditFn == nil {
		return nil, unexpected("ListAudit")
	}
	return s.ListAuditFn(ctx, f)
}

func (s *Services) ListCompanies(ctx context.Context) ([]licensing.Company, error) {
	if s.ListCompaniesFn == nil {
		return nil, unexpected("ListCompanies")
	}
	return s.ListCompaniesFn(ctx)
}

func (s *Services) ListLicenses(ctx context.Context, f licensing.LicenseFilter, fn func(*licensing.License) error) error {
	if s.ListLicensesFn == nil {
		return nil
	}
	return s.ListLicensesFn(ctx, f, fn)
}

func (s *Services) ListMaintenance(ctx context.Context, f licensing.MaintenanceFilter) ([]licensing.MaintenancePlan, error) {
	if s.ListMaintenanceFn == nil {
		return nil, unexpected("ListMaintenance")
	}
	return s.ListMaintenanceFn(ctx, f)
}

func (s *Services) ListProducts(ctx context.Context) ([]licensing.Product, error) {
	if s.ListProductsFn == nil {
		return nil, unexpected("ListProducts")
	}
	return s.ListProductsFn(ctx)
}

func (s *Services) ListTokens(ctx context.Context) ([]licensing.Token, error) {
	if s.ListTokensFn == nil {
		return nil, unexpected("ListTokens")
	}
	return s.ListTokensFn(ctx)
}

func (s *Services) Quote(ctx context.Context, req licensing.BuyRequest) (*licensing.Purchase, error) {
	if s.QuoteFn == nil {
		return nil, unexpected("Quote")
	}
	return s.QuoteFn(ctx, req)
}

func (s *Services) QuoteMaintenance(ctx context.Context, req licensing.MaintenanceBuyRequest) (*licensing.MaintenancePurchase, error) {
	if s.QuoteMaintenanceFn == nil {
		return nil, unexpected("QuoteMaintenance")
	}
	return s.QuoteMaintenanceFn(ctx, req)
}

func (s *Services) ReleaseOffline(ctx context.Context, proof []byte) (*licensing.Activation, error) {
	if s.ReleaseOfflineFn == nil {
		return nil, unexpected("ReleaseOffline")
	}
	return s.ReleaseOfflineFn(ctx, proof)
}

func (s *Services) RequestAttach(ctx context.Context, req licensing.AttachRequest, mailer licensing.Mailer) (*licensing.AttachPending, error) {
	if s.RequestAttachFn == nil {
		return nil, unexpected("RequestAttach")
	}
	return s.RequestAttachFn(ctx, req, mailer)
}

func (s *Services) RevokeToken(ctx context.Context, prefix string) error {
	if s.RevokeTokenFn == nil {
		return unexpected("RevokeToken")
	}
	return s.RevokeTokenFn(ctx, prefix)
}

func (s *Services) RotateSigningKey(ctx context.Context) (*licensing.SigningKey, error) {
	if s.RotateSigningKeyFn == nil {
		return nil, unexpected("RotateSigningKey")
	}
	return s.RotateSigningKeyFn(ctx)
}

func (s *Services) RunRenewals(ctx context.Context, asOf time.Time) (*licensing.RenewalRun, error) {
	if s.RunRenewalsFn == nil {
		return nil, unexpected("RunRenewals")
	}
	return s.RunRenewalsFn(ctx, asOf)
}

func (s *Services) SigningKeys(ctx context.Context) ([]licensing.SigningKey, error) {
	if s.SigningKeysFn == nil {
		return nil, unexpected("SigningKeys")
	}
	return s.SigningKeysFn(ctx)
}

func (s *Services) UpdateLicense(ctx context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error) {
	if s.UpdateLicenseFn == nil {
		return nil, unexpected("UpdateLicense")
	}
	return s.UpdateLicenseFn(ctx, key, u)
}

func (s *Services) UpdateMaintenance(ctx context.Context, id string, u licensing.MaintenanceUpdate) (*licensing.MaintenancePlan, error) {
	if s.UpdateMaintenanceFn == nil {
		return nil, unexpected("UpdateMaintenance")
	}
	return s.UpdateMaintenanceFn(ctx, id, u)
}

func (s *Services) ValidateLicense(ctx context.Context, key string, fingerprint string, version string) (*licensing.Validation, error) {
	if s.ValidateLicenseFn == nil {
		return nil, unexpected("ValidateLicense")
	}
	return s.ValidateLicenseFn(ctx, key, fingerprint, version)
}

func (s *Services) CreateOperator(ctx context.Context, name string) (*licensing.Operator, error) {
	if s.CreateOperatorFn == nil {
		return nil, unexpected("CreateOperator")
	}
	return s.CreateOperatorFn(ctx, name)
}

func (s *Services) ListOperators(ctx context.Context) ([]licensing.Operator, error) {
	if s.ListOperatorsFn == nil {
		return nil, unexpected("ListOperators")
	}
	return s.ListOperatorsFn(ctx)
}

func (s *Services) SetOperatorDisabled(ctx context.Context, name string, disabled bool) (*licensing.Operator, error) {
	if s.SetOperatorDisabledFn == nil {
		return nil, unexpected("SetOperatorDisabled")
	}
	return s.SetOperatorDisabledFn(ctx, name, disabled)
}

func (s *Services) CreateOperatorToken(ctx context.Context, name string, req licensing.TokenRequest) (*licensing.Token, error) {
	if s.CreateOperatorTokenFn == nil {
		return nil, unexpected("CreateOperatorToken")
	}
	return s.CreateOperatorTokenFn(ctx, name, req)
}

func (s *Services) ListOperatorTokens(ctx context.Context, name string) ([]licensing.Token, error) {
	if s.ListOperatorTokensFn == nil {
		return nil, unexpected("ListOperatorTokens")
	}
	return s.ListOperatorTokensFn(ctx, name)
}

func (s *Services) FindLicense(ctx context.Context, key string) (*licensing.LicenseOwner, error) {
	if s.FindLicenseFn == nil {
		return nil, unexpected("FindLicense")
	}
	return s.FindLicenseFn(ctx, key)
}

func (s *Services) FindPurchase(ctx context.Context, purchaseID string) (*licensing.PurchaseOwner, error) {
	if s.FindPurchaseFn == nil {
		return nil, unexpected("FindPurchase")
	}
	return s.FindPurchaseFn(ctx, purchaseID)
}

func (s *Services) SetAccountDisabled(ctx context.Context, email string, disabled bool) (*licensing.Account, error) {
	if s.SetAccountDisabledFn == nil {
		return nil, unexpected("SetAccountDisabled")
	}
	return s.SetAccountDisabledFn(ctx, email, disabled)
}

func (s *Services) RevokeOperatorToken(ctx context.Context, prefix string) error {
	if s.RevokeOperatorTokenFn == nil {
		return unexpected("RevokeOperatorToken")
	}
	return s.RevokeOperatorTokenFn(ctx, prefix)
}

func (s *Services) Heartbeat(ctx context.Context, id int64) (*licensing.Activation, error) {
	if s.HeartbeatFn == nil {
		return nil, unexpected("Heartbeat")
	}
	return s.HeartbeatFn(ctx, id)
}

func (s *Services) ReleaseStale(ctx context.Context, stale time.Duration, dryRun bool) ([]licensing.Activation, error) {
	if s.ReleaseStaleFn == nil {
		return nil, unexpected("ReleaseStale")
	}
	return s.ReleaseStaleFn(ctx, stale, dryRun)
}

func (s *Services) ListPurchases(ctx context.Context, f licensing.PurchaseFilter) ([]licensing.PurchaseRow, error) {
	if s.ListPurchasesFn == nil {
		return nil, unexpected("ListPurchases")
	}
	return s.ListPurchasesFn(ctx, f)
}

func (s *Services) GetPurchase(ctx context.Context, id string) (*licensing.PurchaseDetail, error) {
	if s.GetPurchaseFn == nil {
		return nil, unexpected("GetPurchase")
	}
	return s.GetPurchaseFn(ctx, id)
}

func (s *Services) RefundPurchase(ctx context.Context, req licensing.RefundRequest) (*licensing.Purchase, error) {
	if s.RefundPurchaseFn == nil {
		return nil, unexpected("RefundPurchase")
	}
	return s.RefundPurchaseFn(ctx, req)
}

func (s *Services) CancelLicense(ctx context.Context, key string, undo bool) (*licensing.License, error) {
	if s.CancelLicenseFn == nil {
		return nil, unexpected("CancelLicense")
	}
	return s.CancelLicenseFn(ctx, key, undo)
}

func (s *Services) CancelMaintenance(ctx context.Context, id string, undo bool) (*licensing.MaintenancePlan, error) {
	if s.CancelMaintenanceFn == nil {
		return nil, unexpected("CancelMaintenance")
	}
	return s.CancelMaintenanceFn(ctx, id, undo)
}

func (s *Services) ShowBilling(ctx context.Context) (*licensing.Billing, error) {
	if s.ShowBillingFn == nil {
		return nil, unexpected("ShowBilling")
	}
	return s.ShowBillingFn(ctx)
}

func (s *Services) SetupBilling(ctx context.Context) (*licensing.Billing, error) {
	if s.SetupBillingFn == nil {
		return nil, unexpected("SetupBilling")
	}
	return s.SetupBillingFn(ctx)
}

func (s *Services) ReconcilePayments(ctx context.Context, since time.Time) (*licensing.Reconciliation, error) {
	if s.ReconcilePaymentsFn == nil {
		return nil, unexpected("ReconcilePayments")
	}
	return s.ReconcilePaymentsFn(ctx, since)
}

func (s *Services) HandlePaymentEvent(ctx context.Context, payload []byte, signature string) error {
	if s.HandlePaymentEventFn == nil {
		return unexpected("HandlePaymentEvent")
	}
	return s.HandlePaymentEventFn(ctx, payload, signature)
}

func (s *Services) ListEvents(ctx context.Context, f licensing.EventFilter) ([]licensing.Event, error) {
	if s.ListEventsFn == nil {
		return nil, unexpected("ListEvents")
	}
	return s.ListEventsFn(ctx, f)
}

func (s *Services) CreateWebhook(ctx context.Context, req licensing.WebhookCreate) (*licensing.Webhook, error) {
	if s.CreateWebhookFn == nil {
		return nil, unexpected("CreateWebhook")
	}
	return s.CreateWebhookFn(ctx, req)
}

func (s *Services) ListWebhooks(ctx context.Context) ([]licensing.Webhook, error) {
	if s.ListWebhooksFn == nil {
		return nil, unexpected("ListWebhooks")
	}
	return s.ListWebhooksFn(ctx)
}

func (s *Services) DeleteWebhook(ctx context.Context, id int64) error {
	if s.DeleteWebhookFn == nil {
		return unexpected("DeleteWebhook")
	}
	return s.DeleteWebhookFn(ctx, id)
}

func (s *Services) EnableWebhook(ctx context.Context, id int64) (*licensing.Webhook, error) {
	if s.EnableWebhookFn == nil {
		return nil, unexpected("EnableWebhook")
	}
	return s.EnableWebhookFn(ctx, id)
}

func (s *Services) ListDeliveries(ctx context.Context, f licensing.DeliveryFilter) ([]licensing.WebhookDelivery, error) {
	if s.ListDeliveriesFn == nil {
		return nil, unexpected("ListDeliveries")
	}
	return s.ListDeliveriesFn(ctx, f)
}

func (s *Services) Redeliver(ctx context.Context, id int64) (*licensing.WebhookDelivery, error) {
	if s.RedeliverFn == nil {
		return nil, unexpected("Redeliver")
	}
	return s.RedeliverFn(ctx, id)
}

func (s *Services) TestWebhook(ctx context.Context, id int64) (*licensing.WebhookTest, error) {
	if s.TestWebhookFn == nil {
		return nil, unexpected("TestWebhook")
	}
	return s.TestWebhookFn(ctx, id)
}

func (s *Services) Notifications(ctx context.Context) (*licensing.NotificationSettings, error) {
	if s.NotificationsFn == nil {
		return nil, unexpected("Notifications")
	}
	return s.NotificationsFn(ctx)
}

func (s *Services) SetNotifications(ctx context.Context, u licensing.NotificationUpdate) (*licensing.NotificationSettings, error) {
	if s.SetNotificationsFn == nil {
		return nil, unexpected("SetNotifications")
	}
	return s.SetNotificationsFn(ctx, u)
}
