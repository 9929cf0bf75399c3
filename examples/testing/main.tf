# A module whose own assertions are tested with `terraform test` and a mocked provider (see
# tests/interface_endpoint.tftest.hcl): a postcondition that fails the plan unless the
# interface endpoint is AVAILABLE, and a `check` block that only warns.
#
# Run the tests: install the provider once (`scripts/install.sh` from the repository root), then
# run `terraform init` and `terraform test` in this folder. `terraform init` comes first:
# `terraform test` installs no provider itself and, even with `mock_provider`, needs the provider's
# schema, so without init it fails with "Missing required provider".

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

variable "require_available" {
  description = "Fail the plan unless the endpoint is AVAILABLE. Set to false while AWS is still connecting it: the check block below then only warns."
  type        = bool
  default     = true
}

data "atlas_interface_endpoint" "this" {
  project_id            = var.project_id
  private_link_id       = var.private_link_id
  interface_endpoint_id = var.interface_endpoint_id

  lifecycle {
    postcondition {
      condition = !var.require_available || self.connection_status == "AVAILABLE"
      error_message = format(
        "Interface endpoint %s is %s, not AVAILABLE.%s",
        self.interface_endpoint_id,
        self.connection_status,
        self.error_message == null ? "" : " Atlas reports: ${self.error_message}",
      )
    }
  }
}

check "interface_endpoint_available" {
  assert {
    condition     = data.atlas_interface_endpoint.this.connection_status == "AVAILABLE"
    error_message = "Interface endpoint ${var.interface_endpoint_id} is ${data.atlas_interface_endpoint.this.connection_status}, not AVAILABLE yet."
  }
}

output "connection_status" {
  value = data.atlas_interface_endpoint.this.connection_status
}

# Every endpoint of the private endpoint service, on any cloud: the check fails when the list is
# empty or any endpoint is not AVAILABLE (tests/private_endpoints.tftest.hcl mocks the list).
variable "cloud_provider" {
  description = "The cloud of the private endpoint service: AWS, AZURE or GCP."
  type        = string
  default     = "AWS"
}

data "atlas_private_endpoints" "all" {
  project_id      = var.project_id
  private_link_id = var.private_link_id
  cloud_provider  = var.cloud_provider
}

check "every_private_endpoint_available" {
  assert {
    condition = length(data.atlas_private_endpoints.all.endpoints) > 0 && alltrue([
      for e in data.atlas_private_endpoints.all.endpoints : e.status == "AVAILABLE"
    ])
    error_message = "Not every private endpoint is AVAILABLE: ${join(", ", [for e in data.atlas_private_endpoints.all.endpoints : "${e.endpoint_id} is ${e.status}" if e.status != "AVAILABLE"])}."
  }
}

output "private_endpoint_statuses" {
  value = [for e in data.atlas_private_endpoints.all.endpoints : e.status]
}
