# Reads one private endpoint on Azure and one on Google Cloud, and fails the plan unless each is
# AVAILABLE: `status` is the attribute to assert on, whatever the cloud.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

# Azure: the endpoint id is the private endpoint's resource id (azurerm_private_endpoint.<name>.id),
# given raw; the provider encodes it for the URL.
data "atlas_private_endpoint" "azure" {
  project_id      = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id = "6a794010c0eb9e7a17719674"
  cloud_provider  = "AZURE"
  endpoint_id     = "/subscriptions/0b8b3b9e-1111-4c1b-9d3e-2f6a0c1d2e3f/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas"

  lifecycle {
    postcondition {
      condition     = self.status == "AVAILABLE"
      error_message = "Azure private endpoint ${self.endpoint_id} is ${self.status}, not AVAILABLE.${self.error_message == null ? "" : " Atlas reports: ${self.error_message}"}"
    }
  }
}

# Google Cloud: the endpoint id is the endpoint group's name; every forwarding rule of the group
# must be AVAILABLE too.
data "atlas_private_endpoint" "gcp" {
  project_id      = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id = "6a7940612c88faeba59bf3c4"
  cloud_provider  = "GCP"
  endpoint_id     = "atlas-endpoint-group"

  lifecycle {
    postcondition {
      condition     = self.status == "AVAILABLE" && alltrue([for rule in self.endpoints : rule.status == "AVAILABLE"])
      error_message = "Google Cloud endpoint group ${self.endpoint_id} is ${self.status}; forwarding rules: ${join(", ", [for rule in self.endpoints : "${rule.endpoint_name} ${rule.status}"])}."
    }
  }
}

output "azure_endpoint_ip_address" {
  value = data.atlas_private_endpoint.azure.private_endpoint_ip_address
}
