# Wait until Atlas is ready for the AWS side: `wait_for_status`
#
# Blocks the plan until the endpoint service Atlas creates is ready for the AWS VPC endpoint
# (WAITING_FOR_USER) or already in use (AVAILABLE). It fails at once if Atlas reports FAILED,
# and after wait_timeout with the last status seen.

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

data "atlas_private_link" "this" {
  project_id      = var.project_id
  private_link_id = var.private_link_id
  wait_for_status = ["WAITING_FOR_USER", "AVAILABLE"]
  wait_timeout    = "15m"
}

output "endpoint_service_name" {
  description = "Set aws_vpc_endpoint.service_name to this."
  value       = data.atlas_private_link.this.endpoint_service_name
}
