# The whole Azure Private Link chain at plan time: the Atlas private endpoint service
# (`atlas_private_link` with cloud_provider = "AZURE"), where its Private Link Service goes on
# the Azure side, and every private endpoint attached to it, each asserted AVAILABLE. No azurerm
# provider is needed: the Azure resource is shown as a comment, its id passed in as a variable.

terraform {
  required_providers {
    atlas = {
      source  = "local/atlas"
      version = "0.1.0"
    }
  }
}

variable "project_id" {
  description = "The Atlas project that holds the private endpoint service."
  type        = string
}

variable "private_link_id" {
  description = "The project's Azure private endpoint service in Atlas."
  type        = string
}

variable "azure_private_endpoint_id" {
  description = "The resource id of the Azure private endpoint (azurerm_private_endpoint.atlas.id), raw: /subscriptions/<uuid>/resourceGroups/<group>/providers/Microsoft.Network/privateEndpoints/<name>."
  type        = string
}

# 1. Atlas's side: the Private Link Service must exist before Azure can connect to it.
data "atlas_private_link" "this" {
  project_id      = var.project_id
  private_link_id = var.private_link_id
  cloud_provider  = "AZURE"

  lifecycle {
    postcondition {
      condition     = contains(["WAITING_FOR_USER", "AVAILABLE"], self.status) && self.private_link_service_resource_id != null
      error_message = "Azure private endpoint service ${self.id} is ${self.status}, not ready for Azure.${self.error_message == null ? "" : " Atlas reports: ${self.error_message}"}"
    }
  }
}

# 2. Azure's side: the private endpoint connects to Atlas's Private Link Service by its resource id.
#
# resource "azurerm_private_endpoint" "atlas" {
#   name                = "pe-atlas"
#   location            = var.location
#   resource_group_name = var.resource_group_name
#   subnet_id           = var.subnet_id
#
#   private_service_connection {
#     name                           = data.atlas_private_link.this.private_link_service_name
#     private_connection_resource_id = data.atlas_private_link.this.private_link_service_resource_id
#     is_manual_connection           = true
#     request_message                = "Atlas"
#   }
# }
output "azure_private_connection_resource_id" {
  description = "What azurerm_private_endpoint.private_service_connection.private_connection_resource_id must be set to."
  value       = data.atlas_private_link.this.private_link_service_resource_id
}

# 3. The endpoint Azure made is connected in Atlas.
data "atlas_private_endpoint" "this" {
  project_id      = var.project_id
  private_link_id = var.private_link_id
  cloud_provider  = "AZURE"
  endpoint_id     = var.azure_private_endpoint_id

  lifecycle {
    postcondition {
      condition     = self.status == "AVAILABLE"
      error_message = "Azure private endpoint ${self.endpoint_id} is ${self.status}, not AVAILABLE.${self.error_message == null ? "" : " Atlas reports: ${self.error_message}"}"
    }
  }
}

# 4. And so is every other endpoint attached to the service.
data "atlas_private_endpoints" "all" {
  project_id      = var.project_id
  private_link_id = var.private_link_id
  cloud_provider  = "AZURE"

  lifecycle {
    postcondition {
      condition = alltrue([for e in self.endpoints : e.status == "AVAILABLE"])
      error_message = format(
        "Not every Azure private endpoint is AVAILABLE: %s.",
        join(", ", [for e in self.endpoints : "${e.endpoint_id} is ${e.status}" if e.status != "AVAILABLE"]),
      )
    }
  }
}

output "private_endpoint_ip_address" {
  value = data.atlas_private_endpoint.this.private_endpoint_ip_address
}
