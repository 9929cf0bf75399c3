# Reads the Atlas side of an AWS PrivateLink connection: its status, and the endpoint service
# name that the AWS VPC interface endpoint's `service_name` must be set to.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

data "atlas_private_link" "example" {
  project_id      = "5f1a2b3c4d5e6f7a8b9c0d1e"
  private_link_id = "6a1a2b3c4d5e6f7a8b9c0d1e"
}

output "status" {
  value = data.atlas_private_link.example.status
}

output "endpoint_service_name" {
  value = data.atlas_private_link.example.endpoint_service_name
}

output "interface_endpoint_ids" {
  value = data.atlas_private_link.example.interface_endpoint_ids
}
