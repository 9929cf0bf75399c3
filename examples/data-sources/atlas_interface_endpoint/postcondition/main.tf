# Fail the plan: `postcondition`
#
# A data source `postcondition` that fails the plan unless the interface endpoint is AVAILABLE,
# so nothing that depends on PrivateLink is applied before the connection is up. The error
# names the endpoint, its status and the error Atlas reports on it.

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

variable "interface_endpoint_id" {
  description = "The AWS VPC interface endpoint, such as vpce-08fb7e9319909ec7b."
  type        = string
}

data "atlas_interface_endpoint" "this" {
  project_id            = var.project_id
  private_link_id       = var.private_link_id
  interface_endpoint_id = var.interface_endpoint_id

  lifecycle {
    postcondition {
      condition = self.connection_status == "AVAILABLE"
      error_message = format(
        "Interface endpoint %s is %s, not AVAILABLE, so nothing that depends on PrivateLink can be planned.%s",
        self.interface_endpoint_id,
        self.connection_status,
        self.error_message == null ? "" : " Atlas reports: ${self.error_message}",
      )
    }
  }
}

output "connection_status" {
  value = data.atlas_interface_endpoint.this.connection_status
}
