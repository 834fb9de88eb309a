//! rustls client configuration: ring provider, webpki roots, optional extra roots.

use std::sync::{Arc, OnceLock};

use rustls::{crypto::ring, ClientConfig, RootCertStore};
use rustls_pki_types::{pem::PemObject, CertificateDer};

use crate::error::{ImError, Result};

/// The client TLS configuration for wss:// and https://.
///
/// Without extra roots the configuration is built once per process and shared.
/// Extra roots (PEM) are trusted in addition to the webpki roots; a PEM that holds
/// no valid certificate is an `InvalidArgument`.
pub fn client_config(extra_roots_pem: Option<&str>) -> Result<Arc<ClientConfig>> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    match extra_roots_pem {
        None => Ok(DEFAULT.get_or_init(|| build(default_roots())).clone()),
        Some(pem) => {
            let mut roots = default_roots();
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| {
                    ImError::invalid(format!("extra_root_certs_pem is not valid PEM: {e}"))
                })?;
                roots.add(cert).map_err(|e| {
                    ImError::invalid(format!(
                        "extra_root_certs_pem holds a certificate rustls refuses: {e}"
                    ))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(ImError::invalid(
                    "extra_root_certs_pem holds no certificate",
                ));
            }
            Ok(build(roots))
        }
    }
}

fn default_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn build(roots: RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring supports the safe defaults; this cannot fail.
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_shared() {
        let a = client_config(None).unwrap();
        let b = client_config(None).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn bad_pem_is_invalid_argument() {
        let e = client_config(Some(
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ))
        .unwrap_err();
        assert_eq!(e.code(), 10002, "{e}");
        assert!(client_config(Some("nothing")).is_err());
    }
}
