# Reads every interface endpoint of a private link at once and fails the plan unless all of
# them are AVAILABLE, naming those that are not.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

data "atlas_interface_endpoints" "example" {
  project_id      = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id = "6a1a2b3c4d5e6f7a8b9c0d1e"

  lifecycle {
    postcondition {
      condition = alltrue([for e in self.endpoints : e.connection_status == "AVAILABLE"])
      error_message = format(
        "Not every interface endpoint is AVAILABLE: %s.",
        join(", ", [for e in self.endpoints : "${e.interface_endpoint_id} is ${e.connection_status}" if e.connection_status != "AVAILABLE"]),
      )
    }
  }
}

output "statuses" {
  value = { for e in data.atlas_interface_endpoints.example.endpoints : e.interface_endpoint_id => e.connection_status }
}
