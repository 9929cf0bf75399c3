# The whole PrivateLink chain at plan time: the Atlas endpoint service (`atlas_private_link`),
# where its endpoint_service_name goes on the AWS side, and every interface endpoint attached
# to it (`atlas_interface_endpoints`), each asserted AVAILABLE. No AWS provider is needed: the
# AWS resource is shown as a comment.

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
  description = "The project's AWS PrivateLink connection (Atlas endpoint service)."
  type        = string
}

# 1. Atlas's side: the endpoint service must be ready for (or already connected to) AWS.
data "atlas_private_link" "this" {
  project_id      = var.project_id
  private_link_id = var.private_link_id

  lifecycle {
    postcondition {
      condition     = contains(["WAITING_FOR_USER", "AVAILABLE"], self.status)
      error_message = "Private link ${self.id} is ${self.status}, not ready for AWS.${self.error_message == null ? "" : " Atlas reports: ${self.error_message}"}"
    }
    postcondition {
      condition     = self.endpoint_service_name != null
      error_message = "Atlas has not created the endpoint service of ${self.id} yet."
    }
  }
}

# 2. AWS's side: the VPC interface endpoint connects to the endpoint service by its name.
#
# resource "aws_vpc_endpoint" "atlas" {
#   vpc_id             = var.vpc_id
#   vpc_endpoint_type  = "Interface"
#   service_name       = data.atlas_private_link.this.endpoint_service_name
#   subnet_ids         = var.subnet_ids
#   security_group_ids = var.security_group_ids
# }
output "aws_vpc_endpoint_service_name" {
  description = "What aws_vpc_endpoint.service_name must be set to."
  value       = data.atlas_private_link.this.endpoint_service_name
}

# 3. Every interface endpoint attached to the private link is connected.
data "atlas_interface_endpoints" "all" {
  project_id      = var.project_id
  private_link_id = var.private_link_id

  lifecycle {
    postcondition {
      condition     = length(self.endpoints) > 0
      error_message = "No interface endpoint is attached to private link ${self.id} yet: create the AWS VPC endpoint."
    }
    postcondition {
      condition = alltrue([for e in self.endpoints : e.connection_status == "AVAILABLE"])
      error_message = format(
        "Not every interface endpoint is AVAILABLE: %s.",
        join(", ", [for e in self.endpoints : "${e.interface_endpoint_id} is ${e.connection_status}" if e.connection_status != "AVAILABLE"]),
      )
    }
  }
}

output "interface_endpoints" {
  value = { for e in data.atlas_interface_endpoints.all.endpoints : e.interface_endpoint_id => e.connection_status }
}
