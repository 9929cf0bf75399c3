# Authenticates with an Atlas service account (OAuth 2.0 client credentials), the method MongoDB
# recommends: the provider exchanges the client id and secret for a token on the first read of each
# run, shares it between parallel reads and renews it before it expires. Leave both variables null to
# use MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET instead.
#
# The service account needs the Project Read Only role on the project; api_version = "v2" reads the
# versioned routes, whose reference lists that role (the v1.0 routes list Project Owner).

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

variable "atlas_client_id" {
  description = "The service account's client id (mdb_sa_id_...); null falls back to MONGODB_ATLAS_CLIENT_ID."
  type        = string
  default     = null
}

variable "atlas_client_secret" {
  description = "The service account's secret (mdb_sa_sk_...); null falls back to MONGODB_ATLAS_CLIENT_SECRET."
  type        = string
  default     = null
  sensitive   = true
}

variable "project_id" {
  description = "The Atlas project that holds the private endpoint connection."
  type        = string
  default     = "5f1a2b3c4d5e6f7a8b9c0d1e"
}

variable "private_link_id" {
  description = "The project's AWS PrivateLink connection (Atlas endpoint service)."
  type        = string
  default     = "6a1a2b3c4d5e6f7a8b9c0d1e"
}

variable "interface_endpoint_id" {
  description = "The AWS VPC interface endpoint."
  type        = string
  default     = "vpce-0a0000000000000a1"
}

provider "atlas" {
  client_id     = var.atlas_client_id
  client_secret = var.atlas_client_secret
  api_version   = "v2"
}

data "atlas_interface_endpoint" "this" {
  project_id            = var.project_id
  private_link_id       = var.private_link_id
  interface_endpoint_id = var.interface_endpoint_id

  lifecycle {
    postcondition {
      condition     = self.connection_status == "AVAILABLE"
      error_message = "Interface endpoint ${self.interface_endpoint_id} is ${self.connection_status}, not AVAILABLE."
    }
  }
}

output "connection_status" {
  value = data.atlas_interface_endpoint.this.connection_status
}
