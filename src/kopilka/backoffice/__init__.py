"""Staff pages: analytics dashboards now; the cashier screen and marketer pages later."""
