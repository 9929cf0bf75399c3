# Warn at plan time: `check` block
#
# A `check` block that warns, without failing plan or apply, unless the interface endpoint is
# AVAILABLE. Because the data source is scoped to the check, a failed read (a wrong id, Atlas
# unreachable) is a warning too.

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

check "interface_endpoint_available" {
  data "atlas_interface_endpoint" "this" {
    project_id            = var.project_id
    private_link_id       = var.private_link_id
    interface_endpoint_id = var.interface_endpoint_id
  }

  assert {
    condition = data.atlas_interface_endpoint.this.connection_status == "AVAILABLE"
    error_message = format(
      "Interface endpoint %s is %s, not AVAILABLE.%s",
      var.interface_endpoint_id,
      data.atlas_interface_endpoint.this.connection_status,
      data.atlas_interface_endpoint.this.error_message == null ? "" : " Atlas reports: ${data.atlas_interface_endpoint.this.error_message}",
    )
  }
}
