# Tests the module's assertions without Atlas: `mock_provider` answers every read from the
# provider's schema, and `override_data` sets the status each run needs. Plan-only runs, since
# data sources are read during plan. Needs Terraform 1.7 or later (mock_provider).

mock_provider "atlas" {
  # The module also checks every endpoint of the service (tests/private_endpoints.tftest.hcl);
  # here they are all AVAILABLE, so only the single endpoint's assertions decide.
  mock_data "atlas_private_endpoints" {
    defaults = {
      endpoints = [{ endpoint_id = "vpce-08fb7e9319909ec7b", status = "AVAILABLE" }]
    }
  }
}

variables {
  project_id            = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id       = "6a1a2b3c4d5e6f7a8b9c0d1e"
  interface_endpoint_id = "vpce-08fb7e9319909ec7b"
}

run "available_endpoint_passes_both_assertions" {
  command = plan

  override_data {
    target = data.atlas_interface_endpoint.this
    values = {
      connection_status = "AVAILABLE"
      error_message     = null
    }
  }

  assert {
    condition     = output.connection_status == "AVAILABLE"
    error_message = "The module should report the status it read."
  }
}

# A postcondition failure is an error: the plan stops, and `expect_failures` turns that into a
# pass, so this run proves the postcondition really fails on PENDING.
run "pending_endpoint_fails_the_postcondition" {
  command = plan

  override_data {
    target = data.atlas_interface_endpoint.this
    values = {
      connection_status = "PENDING"
      error_message     = null
    }
  }

  expect_failures = [
    data.atlas_interface_endpoint.this,
  ]
}

# A failed `check` is only a warning, so the plan succeeds; `expect_failures` requires that the
# check did fail.
run "pending_endpoint_fails_the_check_block" {
  command = plan

  variables {
    require_available = false
  }

  override_data {
    target = data.atlas_interface_endpoint.this
    values = {
      connection_status = "PENDING"
      error_message     = "AWS has not accepted the connection yet."
    }
  }

  expect_failures = [
    check.interface_endpoint_available,
  ]
}
