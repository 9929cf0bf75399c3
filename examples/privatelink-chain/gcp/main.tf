# The whole Google Cloud Private Service Connect chain at plan time: the Atlas private endpoint
# service (`atlas_private_link` with cloud_provider = "GCP"), the service attachments the
# forwarding rules must target, and every endpoint group attached, each asserted AVAILABLE with
# all of its forwarding rules. No google provider is needed: the Google Cloud resources are
# shown as a comment.

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
  description = "The project's Google Cloud private endpoint service in Atlas."
  type        = string
}

# 1. Atlas's side: the service attachments exist once the service is ready.
data "atlas_private_link" "this" {
  project_id      = var.project_id
  private_link_id = var.private_link_id
  cloud_provider  = "GCP"

  lifecycle {
    postcondition {
      condition     = contains(["WAITING_FOR_USER", "AVAILABLE"], self.status) && length(self.service_attachment_names) > 0
      error_message = "Google Cloud private endpoint service ${self.id} is ${self.status}, not ready.${self.error_message == null ? "" : " Atlas reports: ${self.error_message}"}"
    }
  }
}

# 2. Google Cloud's side: one address and one forwarding rule per service attachment, each
#    targeting its attachment (Atlas lists them without a scheme, as the target accepts).
#
# resource "google_compute_address" "atlas" {
#   count        = length(data.atlas_private_link.this.service_attachment_names)
#   name         = "atlas-endpoint-group-${count.index}"
#   subnetwork   = var.subnetwork
#   address_type = "INTERNAL"
#   region       = var.region
# }
#
# resource "google_compute_forwarding_rule" "atlas" {
#   count                 = length(data.atlas_private_link.this.service_attachment_names)
#   name                  = "atlas-endpoint-group-${count.index}"
#   target                = data.atlas_private_link.this.service_attachment_names[count.index]
#   ip_address            = google_compute_address.atlas[count.index].id
#   network               = var.network
#   region                = var.region
#   load_balancing_scheme = ""
# }
output "forwarding_rule_targets" {
  description = "What each google_compute_forwarding_rule.target must be, in order."
  value       = data.atlas_private_link.this.service_attachment_names
}

# 3. Every endpoint group attached is AVAILABLE, and so is each of its forwarding rules.
data "atlas_private_endpoints" "all" {
  project_id      = var.project_id
  private_link_id = var.private_link_id
  cloud_provider  = "GCP"

  lifecycle {
    postcondition {
      condition     = length(self.endpoints) > 0
      error_message = "No endpoint group is attached to ${self.id} yet: create the forwarding rules and the endpoint group."
    }
    postcondition {
      condition = alltrue([for e in self.endpoints : e.status == "AVAILABLE" && alltrue([for rule in e.endpoints : rule.status == "AVAILABLE"])])
      error_message = format(
        "Not every endpoint group is AVAILABLE: %s.",
        join(", ", [for e in self.endpoints : "${e.endpoint_id} is ${e.status}" if e.status != "AVAILABLE"]),
      )
    }
  }
}

output "endpoint_groups" {
  value = { for e in data.atlas_private_endpoints.all.endpoints : e.endpoint_id => e.status }
}
