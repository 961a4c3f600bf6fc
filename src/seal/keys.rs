//! The agency's Ed25519 signing keys (seal.md, "Keys"): PKCS#8 v1 PEM private keys, as
//! `openssl genpkey -algorithm ed25519` writes them, SPKI PEM public keys, and key ids.

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no secure random numbers available: {0}")]
    Random(String),
    #[error("cannot encode the key: {0}")]
    Encoding(String),
    #[error("{}: not {expected} in PEM: {reason}", .path.display())]
    Format {
        path: PathBuf,
        expected: &'static str,
        reason: String,
    },
}

/// The agency's key as a build signs with it.
pub struct Signer {
    key: SigningKey,
    pub key_id: String,
    /// The public key as SPKI PEM, published in every portal.
    pub public_pem: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(key: SigningKey) -> Result<Signer, KeyError> {
        let public = key.verifying_key();
        Ok(Signer {
            key_id: key_id(&public),
            public_pem: public_pem(&public)?,
            key,
        })
    }

    /// Reads a PKCS#8 PEM private key (v1, as `openssl genpkey -algorithm ed25519`
    /// writes it, or v2). The second value says whether others than the owner may read
    /// the file (mode bits `0o044` on Unix).
    pub fn load(path: &Path) -> Result<(Signer, bool), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let pem = std::fs::read_to_string(path).map_err(io)?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| KeyError::Format {
            path: path.to_owned(),
            expected: "an Ed25519 private key (PKCS#8)",
            reason: e.to_string(),
        })?;
        #[cfg(unix)]
        let exposed = {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            mode & 0o044 != 0
        };
        #[cfg(not(unix))]
        let exposed = false;
        Ok((Signer::new(key)?, exposed))
    }

    /// The raw 64-byte Ed25519 signature of `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> [u8; 64] {
        self.key.sign(bytes).to_bytes()
    }
}

/// Reads an SPKI PEM public key, as `openssl pkey -pubout` writes it.
pub fn read_public(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|e| KeyError::Format {
        path: path.to_owned(),
        expected: "an Ed25519 public key (SPKI)",
        reason: e.to_string(),
    })
}

/// A new key from the operating system's secure random source.
pub fn generate() -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The private key as PKCS#8 v1 PEM: the seed only, without the optional public key
/// that v2 adds (ed25519-dalek's own `to_pkcs8_pem` writes v2, which OpenSSL 3.0 rejects).
pub fn private_pem(key: &SigningKey) -> Result<String, KeyError> {
    let v1 = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let pem = v1
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encoding(e.to_string()))?;
    Ok(pem.to_string())
}

/// The public key as SPKI PEM, as `openssl pkey -pubout` writes it.
pub fn public_pem(key: &VerifyingKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encoding(e.to_string()))
}

/// `key_id`: lowercase hex SHA-256 of the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Lowercase hex of bytes: two digits a byte, looked up (a proof names thousands of
/// hashes, and `format!` a byte at a time was a visible share of sealing).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// Where the public key of the private key at `private` is written: `x.pem` → `x.pub.pem`,
/// any other name gets `.pub.pem` appended.
pub fn public_path(private: &Path) -> PathBuf {
    let name = private
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".pem").unwrap_or(&name);
    private.with_file_name(format!("{stem}.pub.pem"))
}

/// Generates a key pair, writes the private key to `private` (mode 0600, never over an
/// existing file) and the public key beside it, and returns the key id.
pub fn keygen(private: &Path) -> Result<(String, PathBuf), KeyError> {
    let key = generate()?;
    let public = public_path(private);
    let io = |path: &Path, source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    for path in [private, &public] {
        if path.exists() {
            let exists = std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; not overwritten",
            );
            return Err(io(path, exists));
        }
    }
    write_new(private, private_pem(&key)?.as_bytes(), 0o600).map_err(|e| io(private, e))?;
    write_new(&public, public_pem(&key.verifying_key())?.as_bytes(), 0o644)
        .map_err(|e| io(&public, e))?;
    Ok((key_id(&key.verifying_key()), public))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), expected);
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn private_pem_is_pkcs8_v1() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let pem = private_pem(&key).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // v1 DER for Ed25519 is 48 bytes: version 0, the algorithm, the seed; no public key.
        let (label, der) = ed25519_dalek::pkcs8::SecretDocument::from_pem(&pem).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        let der = der.as_bytes();
        assert_eq!(der.len(), 48);
        assert_eq!(
            &der[..16],
            &[
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        assert_eq!(&der[16..], &[7u8; 32]);
    }

    #[test]
    fn key_id_is_sha256_of_raw_public_key() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        assert_eq!(key_id(&key), hex(&Sha256::digest(key.to_bytes())));
        assert_eq!(key_id(&key).len(), 64);
    }

    #[test]
    fn public_path_sits_beside_the_private_key() {
        assert_eq!(
            public_path(Path::new("k/agency.pem")),
            Path::new("k/agency.pub.pem")
        );
        assert_eq!(
            public_path(Path::new("agency.key")),
            Path::new("agency.key.pub.pem")
        );
    }
}
