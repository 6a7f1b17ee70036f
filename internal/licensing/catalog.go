package licensing

// DefaultCatalog is the catalog `licensectl init` seeds: CloudBerry-style
// lifetime products with yearly maintenance, per-instance Managed Backup
// subscriptions, and two add-ons. `products import` replaces or extends it.
func DefaultCatalog() []Product {
	all := []string{OSWindows, OSMacOS, OSLinux}
	win := []string{OSWindows}
	lifetime := func(sku, name, edition string, price int64, platforms []string) Product {
		return Product{SKU: sku, Name: name, Term: TermPerpetual, Edition: edition, PriceCents: price,
			MaintenancePriceCents: MaintenancePrice(price), Platforms: platforms, Seats: 1,
			LatestVersion: "7.9.4", Currency: "USD"}
	}
	sub := func(sku, name, edition string, monthly, annual int64, seats int, platforms []string) Product {
		return Product{SKU: sku, Name: name, Term: TermSubscription, Edition: edition,
			MonthlyPriceCents: monthly, AnnualPriceCents: annual, Platforms: platforms, Seats: seats,
			LatestVersion: "7.9.4", Currency: "USD"}
	}
	return []Product{
		lifetime("backup-desktop", "Backup Desktop", "desktop", 4999, all),
		lifetime("backup-server", "Backup Server", "server", 11999, all),
		lifetime("backup-mssql", "Backup MSSQL Server", "mssql", 14999, win),
		lifetime("backup-exchange", "Backup Exchange", "exchange", 22999, win),
		lifetime("backup-ultimate", "Backup Ultimate", "ultimate", 29900, win),
		sub("mbs-desktop", "Managed Backup Desktop", "desktop", 299, 2999, 1, all),
		sub("mbs-server", "Managed Backup Server", "server", 999, 9999, 1, all),
		sub("mbs-mssql", "Managed Backup MSSQL Server", "mssql", 1299, 12999, 1, win),
		sub("mbs-exchange", "Managed Backup Exchange", "exchange", 1499, 14999, 1, win),
		sub("mbs-ultimate", "Managed Backup Ultimate", "ultimate", 2499, 24999, 1, win),
		sub("mbs-vm", "Managed Backup VM (2 sockets)", "vm", 1999, 19999, 2, win),
		{SKU: SKUPremiumSupport, Name: "Premium Support", Term: TermAddon, PriceCents: 999, Currency: "USD", PerLicense: true},
		{SKU: SKUOnboarding, Name: "Onboarding", Term: TermAddon, PriceCents: 19900, Currency: "USD"},
	}
}

// Validate checks a catalog entry, as `products import` reads it.
func (p *Product) Validate() error {
	switch {
	case p.SKU == "" || len(p.SKU) > 64 || hasControl(p.SKU):
		return Errorf(EINVALID, "product sku %q is empty, too long or has control characters", clip(p.SKU))
	case p.Name == "" || hasControl(p.Name):
		return Errorf(EINVALID, "product %s: name is required", p.SKU)
	}
	term := TermEnum()
	term.Name = "term of " + p.SKU
	t, err := term.Parse(p.Term)
	if err != nil {
		return err
	}
	p.Term = t
	if p.Term == "" {
		return Errorf(EINVALID, "product %s: term is required (perpetual, subscription or addon)", p.SKU)
	}
	if p.PriceCents < 0 || p.MonthlyPriceCents < 0 || p.AnnualPriceCents < 0 {
		return Errorf(EINVALID, "product %s: prices must not be negative", p.SKU)
	}
	if p.Term == TermSubscription && (p.MonthlyPriceCents == 0 || p.AnnualPriceCents == 0) {
		return Errorf(EINVALID, "product %s: a subscription needs monthly_price_cents and annual_price_cents", p.SKU)
	}
	platform := OSEnum()
	platform.Name = "platform of " + p.SKU
	for i, os := range p.Platforms {
		v, err := platform.Parse(os)
		if err != nil {
			return err
		}
		if v == "" {
			return Errorf(EINVALID, "product %s: empty platform", p.SKU)
		}
		p.Platforms[i] = v
	}
	if p.Seats == 0 {
		p.Seats = 1
	}
	if p.Seats < 0 || p.Seats > 1000 {
		return Errorf(EINVALID, "product %s: seats must be between 1 and 1000", p.SKU)
	}
	if p.Currency == "" {
		p.Currency = "USD"
	}
	if p.Term == TermPerpetual {
		p.MaintenancePriceCents = MaintenancePrice(p.PriceCents)
	} else {
		p.MaintenancePriceCents = 0
	}
	if len(p.Platforms) == 0 && p.Term != TermAddon {
		p.Platforms = []string{OSWindows}
	}
	return nil
}
