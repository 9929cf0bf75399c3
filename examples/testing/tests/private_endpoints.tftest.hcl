# Tests the module's check over a whole list of endpoints without Atlas. `endpoints` is a list of
# objects, so `override_data` sets it with a list: `endpoints = [{ ... }, { ... }]` (attributes
# left out are null). Needs Terraform 1.7 or later (mock_provider).

mock_provider "atlas" {}

variables {
  project_id            = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id       = "6a1a2b3c4d5e6f7a8b9c0d1e"
  interface_endpoint_id = "vpce-08fb7e9319909ec7b"
  cloud_provider        = "AZURE"
}

run "every_endpoint_available_passes" {
  command = plan

  override_data {
    target = data.atlas_interface_endpoint.this
    values = {
      connection_status = "AVAILABLE"
    }
  }

  override_data {
    target = data.atlas_private_endpoints.all
    values = {
      endpoints = [
        { endpoint_id = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-1", status = "AVAILABLE" },
        { endpoint_id = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-2", status = "AVAILABLE" },
      ]
    }
  }

  assert {
    condition     = output.private_endpoint_statuses == ["AVAILABLE", "AVAILABLE"]
    error_message = "The mocked list should reach the module whole: ${jsonencode(output.private_endpoint_statuses)}."
  }
}

# One PENDING endpoint among AVAILABLE ones fails the check; `expect_failures` makes this run
# pass only if it really does.
run "one_pending_endpoint_fails_the_check" {
  command = plan

  override_data {
    target = data.atlas_interface_endpoint.this
    values = {
      connection_status = "AVAILABLE"
    }
  }

  override_data {
    target = data.atlas_private_endpoints.all
    values = {
      endpoints = [
        { endpoint_id = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-1", status = "AVAILABLE" },
        { endpoint_id = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-2", status = "PENDING" },
      ]
    }
  }

  expect_failures = [
    check.every_private_endpoint_available,
  ]
}
