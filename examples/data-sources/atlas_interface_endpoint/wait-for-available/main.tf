# Wait until the endpoint is connected: `wait_for_status`
#
# Blocks the plan until Atlas reports the interface endpoint AVAILABLE, as a pipeline that has just
# created the AWS VPC endpoint needs: it fails at once if the endpoint is REJECTED, and after
# wait_timeout with the last status seen.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

variable "project_id" {
  type        = string
  description = "The Atlas project id (24 hexadecimal characters)."
}

variable "private_link_id" {
  type        = string
  description = "The project's AWS PrivateLink connection id (24 hexadecimal characters)."
}

variable "interface_endpoint_id" {
  type        = string
  description = "The AWS VPC endpoint id, such as aws_vpc_endpoint.atlas.id."
}

provider "atlas" {}

data "atlas_interface_endpoint" "this" {
  project_id            = var.project_id
  private_link_id       = var.private_link_id
  interface_endpoint_id = var.interface_endpoint_id

  wait_for_status = ["AVAILABLE"]
  wait_timeout    = "15m"
}

output "connection_status" {
  value = data.atlas_interface_endpoint.this.connection_status
}
