# Reads every private endpoint of an Azure private endpoint service at once and fails the plan
# unless all of them are AVAILABLE, naming those that are not. The same reads AWS and GCP.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

data "atlas_private_endpoints" "example" {
  project_id      = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id = "6a794010c0eb9e7a17719674"
  cloud_provider  = "AZURE"

  lifecycle {
    postcondition {
      condition = alltrue([for e in self.endpoints : e.status == "AVAILABLE"])
      error_message = format(
        "Not every private endpoint is AVAILABLE: %s.",
        join(", ", [for e in self.endpoints : "${e.endpoint_id} is ${e.status}" if e.status != "AVAILABLE"]),
      )
    }
  }
}

output "statuses" {
  value = { for e in data.atlas_private_endpoints.example.endpoints : e.endpoint_id => e.status }
}
