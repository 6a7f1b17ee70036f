// Command genclient runs a customer's scenario against a licensectl server
// through a client generated from docs/openapi.yaml by oapi-codegen
// (client.gen.go, made by TestGeneratedClient): buy, list with filters,
// activate, validate, deactivate, buy maintenance and request an attach.
// It prints one line per step and exits 1 at the first answer that is not
// the one the scenario expects.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	openapi_types "github.com/oapi-codegen/runtime/types"
)

func main() {
	url := flag.String("url", "", "the server's base URL")
	tokenA := flag.String("token-a", "", "a token of the buying account")
	tokenB := flag.String("token-b", "", "a token of the account that attaches")
	gift := flag.String("gift-email", "", "the purchase email of the licenses to attach")
	flag.Parse()
	if err := run(context.Background(), *url, *tokenA, *tokenB, *gift); err != nil {
		fmt.Fprintln(os.Stderr, "genclient:", err)
		os.Exit(1)
	}
}

func bearer(token string) ClientOption {
	return WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	})
}

func ptr[T any](v T) *T { return &v }

// want fails a step whose answer has another status than code.
func want(step string, got, code int, body []byte) error {
	if got != code {
		return fmt.Errorf("%s: status %d, want %d: %s", step, got, code, body)
	}
	return nil
}

func run(ctx context.Context, url, tokenA, tokenB, gift string) error {
	a, err := NewClientWithResponses(url, bearer(tokenA))
	if err != nil {
		return err
	}
	b, err := NewClientWithResponses(url, bearer(tokenB))
	if err != nil {
		return err
	}

	acct, err := a.GetAccountWithResponse(ctx, nil)
	if err != nil {
		return err
	}
	if err := want("account", acct.StatusCode(), 200, acct.Body); err != nil {
		return err
	}
	if acct.JSON200.Email == nil {
		return fmt.Errorf("account: no email in %s", acct.Body)
	}
	fmt.Println("account:", *acct.JSON200.Email, "kind", acct.JSON200.Kind)

	products, err := a.ListProductsWithResponse(ctx)
	if err != nil {
		return err
	}
	if err := want("products", products.StatusCode(), 200, products.Body); err != nil {
		return err
	}
	sku := ""
	for _, p := range *products.JSON200 {
		if p.Sku == "backup-server" && p.Term == ProductTermPerpetual {
			sku = p.Sku
		}
	}
	if sku == "" {
		return fmt.Errorf("products: no perpetual backup-server in %s", products.Body)
	}

	buy, err := a.CreatePurchaseWithResponse(ctx, &CreatePurchaseParams{IdempotencyKey: ptr("genclient-buy-1")},
		BuyRequest{Lines: []BuyLine{{Product: sku, Quantity: 2}}})
	if err != nil {
		return err
	}
	if err := want("buy", buy.StatusCode(), 201, buy.Body); err != nil {
		return err
	}
	keys := buy.JSON201.Licenses
	fmt.Printf("buy: %s %d licenses, %d %s\n", buy.JSON201.PurchaseId, len(keys), buy.JSON201.TotalCents, buy.JSON201.Currency)
	again, err := a.CreatePurchaseWithResponse(ctx, &CreatePurchaseParams{IdempotencyKey: ptr("genclient-buy-1")},
		BuyRequest{Lines: []BuyLine{{Product: sku, Quantity: 2}}})
	if err != nil {
		return err
	}
	if err := want("buy again", again.StatusCode(), 200, again.Body); err != nil {
		return err
	}
	if !again.JSON200.Replayed || again.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" || again.JSON200.PurchaseId != buy.JSON201.PurchaseId {
		return fmt.Errorf("buy again: not the first purchase replayed: %s", again.Body)
	}
	fmt.Println("buy again: replayed", again.JSON200.PurchaseId)

	giftBuy, err := a.CreatePurchaseWithResponse(ctx, nil,
		BuyRequest{Lines: []BuyLine{{Product: sku, Quantity: 1}}, PurchaseEmail: ptr(openapi_types.Email(gift))})
	if err != nil {
		return err
	}
	if err := want("buy for another email", giftBuy.StatusCode(), 201, giftBuy.Body); err != nil {
		return err
	}
	fmt.Println("buy for another email:", giftBuy.JSON201.PurchaseId, giftBuy.JSON201.PurchaseEmail)

	list, err := a.ListLicensesWithResponse(ctx, &ListLicensesParams{
		Kind: ptr(ListLicensesParamsKindCommercial), Status: ptr(ListLicensesParamsStatusNotActivated),
		Product: ptr(sku), Sort: ptr("-created_at,key"), Limit: ptr(10)})
	if err != nil {
		return err
	}
	if err := want("list", list.StatusCode(), 200, list.Body); err != nil {
		return err
	}
	listed := 0
	for _, l := range *list.JSON200 {
		if l.Kind != LicenseKindCommercial || l.Status != LicenseStatusNotActivated || l.Product != sku {
			return fmt.Errorf("list: a license outside the filters: %+v", l)
		}
		for _, k := range keys {
			if l.Key == k {
				listed++
			}
		}
	}
	if listed != len(keys) {
		return fmt.Errorf("list: %d of the %d licenses bought", listed, len(keys))
	}
	fmt.Println("list:", len(*list.JSON200), "commercial, not activated")

	act, err := a.CreateActivationWithResponse(ctx, &CreateActivationParams{IdempotencyKey: ptr("genclient-act-1")},
		ActivationRequest{LicenseKey: &keys[0], Machine: "build-01", Fingerprint: "fp-build-01", Os: OSLinux, Version: "5.3"})
	if err != nil {
		return err
	}
	if err := want("activate", act.StatusCode(), 201, act.Body); err != nil {
		return err
	}
	fmt.Println("activate:", act.JSON201.Id, act.JSON201.Machine, act.JSON201.Mode, act.JSON201.Rm)

	val, err := a.ValidateLicenseWithResponse(ctx, keys[0], &ValidateLicenseParams{Fingerprint: ptr("fp-build-01")})
	if err != nil {
		return err
	}
	if err := want("validate", val.StatusCode(), 200, val.Body); err != nil {
		return err
	}
	if val.JSON200.Code != ValidationCodeVALID || !val.JSON200.Valid {
		return fmt.Errorf("validate: %s", val.Body)
	}
	fmt.Println("validate:", val.JSON200.Code)

	deact, err := a.CreateDeactivationWithResponse(ctx, nil, DeactivateRequest{Id: ptr(act.JSON201.Id)})
	if err != nil {
		return err
	}
	if err := want("deactivate", deact.StatusCode(), 200, deact.Body); err != nil {
		return err
	}
	fmt.Println("deactivate:", deact.JSON200.Id)

	val, err = a.ValidateLicenseWithResponse(ctx, keys[0], &ValidateLicenseParams{Fingerprint: ptr("fp-build-01")})
	if err != nil {
		return err
	}
	if err := want("validate after", val.StatusCode(), 200, val.Body); err != nil {
		return err
	}
	if val.JSON200.Valid {
		return fmt.Errorf("validate after deactivate: %s", val.Body)
	}
	fmt.Println("validate after deactivate:", val.JSON200.Code)

	mb, err := a.CreateMaintenancePurchaseWithResponse(ctx, &CreateMaintenancePurchaseParams{IdempotencyKey: ptr("genclient-mnt-1")},
		MaintenanceBuyRequest{Key: ptr(keys[1])})
	if err != nil {
		return err
	}
	if err := want("maintenance buy", mb.StatusCode(), 201, mb.Body); err != nil {
		return err
	}
	if mb.JSON201.Count != 1 || len(mb.JSON201.Plans) != 1 || mb.JSON201.Plans[0].LicenseKey == nil ||
		*mb.JSON201.Plans[0].LicenseKey != keys[1] || mb.JSON201.Plans[0].Status != MaintenancePlanStatusActive {
		return fmt.Errorf("maintenance buy: %s", mb.Body)
	}
	fmt.Println("maintenance buy:", mb.JSON201.Plans[0].Id, mb.JSON201.TotalCents, mb.JSON201.Currency)

	att, err := b.CreateAttachRequestWithResponse(ctx, nil, AttachRequest{PurchaseId: ptr(giftBuy.JSON201.PurchaseId)})
	if err != nil {
		return err
	}
	if err := want("attach request", att.StatusCode(), 201, att.Body); err != nil {
		return err
	}
	if att.JSON201.Licenses != 1 || !strings.Contains(att.JSON201.SentTo, "***") {
		return fmt.Errorf("attach request: %s", att.Body)
	}
	fmt.Println("attach request:", att.JSON201.PurchaseId, att.JSON201.Licenses, "license, code sent to", att.JSON201.SentTo)

	// A refusal is the problem document the spec describes.
	bad, err := a.CreateActivationWithResponse(ctx, nil,
		ActivationRequest{LicenseKey: &keys[0], Machine: "m", Fingerprint: "f", Os: OS("beos"), Version: "5.3"})
	if err != nil {
		return err
	}
	if err := want("activate on beos", bad.StatusCode(), 400, bad.Body); err != nil {
		return err
	}
	if bad.ApplicationproblemJSON400 == nil || bad.ApplicationproblemJSON400.Code != ProblemCodeInvalid {
		return fmt.Errorf("activate on beos: %s", bad.Body)
	}
	fmt.Println("activate on beos:", bad.ApplicationproblemJSON400.Code)
	return nil
}
