# The quick start: reads the interface endpoints the fake Atlas seeds (one per connection
# status) with for_each and outputs each one's status. scripts/quickstart.sh starts the fake,
# passes its URL as var.base_url and its API key through MONGODB_ATLAS_PUBLIC_API_KEY and
# MONGODB_ATLAS_PRIVATE_API_KEY, then applies this configuration.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

variable "base_url" {
  description = "The Atlas Admin API to read from, such as the fake Atlas's http://127.0.0.1:PORT."
  type        = string
}

variable "project_id" {
  description = "The project the fake Atlas seeds."
  type        = string
  default     = "5f1a2b3c4d5e6f7a8b9c0d1e"
}

variable "private_link_id" {
  description = "The AWS PrivateLink connection the fake Atlas seeds."
  type        = string
  default     = "6a1a2b3c4d5e6f7a8b9c0d1e"
}

provider "atlas" {
  base_url = var.base_url
}

locals {
  # The endpoints the fake Atlas seeds, by the status each one has.
  seeded_endpoints = {
    available          = "vpce-0a0000000000000a1"
    pending            = "vpce-0b0000000000000b2"
    pending_acceptance = "vpce-0c0000000000000c3"
    none               = "vpce-0d0000000000000d4"
    rejected           = "vpce-0e0000000000000e5"
    deleting           = "vpce-0f0000000000000f6"
  }
}

data "atlas_interface_endpoint" "seeded" {
  for_each = local.seeded_endpoints

  project_id            = var.project_id
  private_link_id       = var.private_link_id
  interface_endpoint_id = each.value
}

output "connection_statuses" {
  description = "Each seeded endpoint's id and its connection status."
  value = {
    for endpoint in data.atlas_interface_endpoint.seeded :
    endpoint.interface_endpoint_id => endpoint.connection_status
  }
}

output "error_messages" {
  description = "The error Atlas reports, for the endpoints that have one."
  value = {
    for endpoint in data.atlas_interface_endpoint.seeded :
    endpoint.interface_endpoint_id => endpoint.error_message
    if endpoint.error_message != null
  }
}

output "delete_requested" {
  description = "The endpoints whose removal Atlas has been asked for."
  value = [
    for endpoint in data.atlas_interface_endpoint.seeded :
    endpoint.interface_endpoint_id if endpoint.delete_requested
  ]
}
