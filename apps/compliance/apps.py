from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """Enquadramento: CVM 175 and each fund's own rules (data in the admin), evaluated on the
    book at EOD (passive breaches, with a start date and a deadline to cure) and on every ticket
    before it is booked (active breaches, through `apps.trading.pretrade`)."""

    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance"
