"""The top floor: `manage.py seed_demo` and every demo generator (the cast, the market, the
fund, its last EOD and pre-open). It imports the product apps; none of them imports it."""
