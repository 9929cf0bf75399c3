# Several endpoints: `for_each`
#
# Reads several interface endpoints of one PrivateLink connection with for_each, outputs each
# one's status, and lists those that are not AVAILABLE yet.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

variable "project_id" {
  description = "The Atlas project that holds the private endpoint connection."
  type        = string
}

variable "private_link_id" {
  description = "The project's AWS PrivateLink connection."
  type        = string
}

variable "interface_endpoint_ids" {
  description = "The AWS VPC interface endpoints to read, such as [\"vpce-08fb7e9319909ec7b\"]."
  type        = set(string)
}

data "atlas_interface_endpoint" "each" {
  for_each = var.interface_endpoint_ids

  project_id            = var.project_id
  private_link_id       = var.private_link_id
  interface_endpoint_id = each.key
}

output "connection_statuses" {
  description = "Each endpoint's connection status, by endpoint id."
  value       = { for id, endpoint in data.atlas_interface_endpoint.each : id => endpoint.connection_status }
}

output "not_available" {
  description = "The endpoints that are not AVAILABLE yet."
  value = sort([
    for id, endpoint in data.atlas_interface_endpoint.each : id
    if endpoint.connection_status != "AVAILABLE"
  ])
}
