//! Users and devices: accounts, enrollment codes, enrollment, token authentication and
//! device revocation.

use super::*;

/// How long an enrollment code stays valid.
pub const ENROLLMENT_CODE_TTL_DAYS: i64 = 7;

/// An enrolled device, for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub user: String,
    pub name: Option<String>,
    pub revoked: bool,
    pub next_seq: u64,
}

/// Enrollment codes: 12 characters from an alphabet without look-alikes, grouped by 4.
fn new_enrollment_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let chars: Vec<char> = b
        .iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Store {
    /// Creates a user; the jurisdiction's level must fit the role.
    pub fn create_user(
        &self,
        name: &str,
        role: Role,
        jurisdiction: &DivisionCode,
    ) -> Result<Uuid, StoreError> {
        self.create_user_logged(name, role, jurisdiction, None)
    }

    /// [`Store::create_user`], appending `audit` (the admin command's entry) in the same
    /// transaction.
    pub fn create_user_logged(
        &self,
        name: &str,
        role: Role,
        jurisdiction: &DivisionCode,
        audit: Option<&NewEntry>,
    ) -> Result<Uuid, StoreError> {
        let dialect = self.dialect();
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("a user needs a name".into()));
        }
        if name == crate::work::OPERATOR {
            return Err(StoreError::Invalid(format!(
                "'{name}' is reserved for the server's operator"
            )));
        }
        let level = jurisdiction.level();
        let fits = match role {
            Role::GridWorker => matches!(level, DivisionLevel::Village | DivisionLevel::Grid),
            Role::Expert => level == DivisionLevel::Town,
            Role::Officer => matches!(level, DivisionLevel::District | DivisionLevel::Town),
            Role::Admin => true,
        };
        if !fits {
            return Err(StoreError::Invalid(format!(
                "a {} needs a {} jurisdiction, and {jurisdiction} is a {}",
                role.as_str(),
                match role {
                    Role::GridWorker => "village or grid",
                    Role::Expert => "town",
                    Role::Officer => "town or district",
                    Role::Admin => "any",
                },
                level.as_str()
            )));
        }
        let id = Uuid::now_v7();
        self.tx(|t| {
            if t
                .query_opt("SELECT 1 FROM app_user WHERE name = $1", &[name.into()])?
                .is_some()
            {
                return Err(StoreError::Invalid(format!("user '{name}' already exists")));
            }
            t.exec(
                "INSERT INTO app_user (id, name, role, jurisdiction, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    id.to_string().into(),
                    name.into(),
                    role.as_str().into(),
                    jurisdiction.as_str().into(),
                    ts(now()).into(),
                ],
            )?;
            if let Some(e) = audit {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(id)
        })
    }

    /// Issues a one-time enrollment code for a user; returns the code.
    pub fn issue_enrollment_code(&self, user_name: &str) -> Result<String, StoreError> {
        self.issue_enrollment_code_logged(user_name, None)
    }

    /// [`Store::issue_enrollment_code`], appending `audit` in the same transaction.
    pub fn issue_enrollment_code_logged(
        &self,
        user_name: &str,
        audit: Option<&NewEntry>,
    ) -> Result<String, StoreError> {
        let dialect = self.dialect();
        let code = new_enrollment_code();
        let hash = sha256_hex(normalize_code(&code).as_bytes());
        let created = now();
        self.tx(|t| {
            let user = t
                .query_opt("SELECT id FROM app_user WHERE name = $1", &[user_name.into()])?
                .ok_or_else(|| StoreError::Invalid(format!("no user named '{user_name}'")))?;
            t.exec(
                "INSERT INTO enrollment_code (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    hash.clone().into(),
                    user.str(0)?.into(),
                    ts(created).into(),
                    ts(created + Duration::days(ENROLLMENT_CODE_TTL_DAYS)).into(),
                ],
            )?;
            if let Some(e) = audit {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(())
        })?;
        Ok(code)
    }

    /// Exchanges an enrollment code for a device token (see the protocol doc for the
    /// retry rule).
    pub fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, StoreError> {
        let key = req.device_key.trim();
        if key.len() < 16 || key.len() > 256 {
            return Err(problem(
                ProblemCode::MalformedBody,
                "device_key must be 16 to 256 characters",
            ));
        }
        let code_hash = sha256_hex(normalize_code(&req.code).as_bytes());
        let key_hash = sha256_hex(key.as_bytes());
        let token = random_token(32);
        let token_hash = sha256_hex(token.as_bytes());
        let at = now();
        let (device_id, user) = self.tx(|t| {
            // Locks the code's row (PostgreSQL) so two enrollments cannot both win.
            t.exec(
                "UPDATE enrollment_code SET code_hash = code_hash WHERE code_hash = $1",
                &[code_hash.clone().into()],
            )?;
            let row = t
                .query_opt(
                    "SELECT c.expires_at, c.device_key_hash, c.device_id, u.id, u.name, u.role, u.jurisdiction,
                            u.disabled_at
                     FROM enrollment_code c JOIN app_user u ON u.id = c.user_id WHERE c.code_hash = $1",
                    &[code_hash.clone().into()],
                )?
                .ok_or_else(|| problem(ProblemCode::EnrollmentCodeInvalid, "unknown enrollment code"))?;
            // A disabled user enrolls nothing, not even with a code issued before.
            if row.text(7)?.is_some() {
                return Err(problem(
                    ProblemCode::AccountDisabled,
                    "this user is disabled; an administrator must enable them first",
                ));
            }
            let expires = DateTime::parse_from_rfc3339(&row.str(0)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let user = EnrolledUser {
                name: row.str(4)?,
                role: Role::parse(&row.str(5)?)
                    .ok_or_else(|| StoreError::Corrupt("bad role".into()))?,
                jurisdiction: row.str(6)?,
            };
            match row.text(1)? {
                None => {
                    if expires < at {
                        return Err(problem(ProblemCode::EnrollmentCodeInvalid, "enrollment code expired"));
                    }
                    let device_id = Uuid::now_v7();
                    t.exec(
                        "INSERT INTO device (id, user_id, name, device_key_hash, token_hash, enrolled_at, next_seq)
                         VALUES ($1, $2, $3, $4, $5, $6, 1)",
                        &[
                            device_id.to_string().into(),
                            row.str(3)?.into(),
                            req.device_name.clone().into(),
                            key_hash.clone().into(),
                            token_hash.clone().into(),
                            ts(at).into(),
                        ],
                    )?;
                    t.exec(
                        "UPDATE enrollment_code SET device_key_hash = $1, device_id = $2 WHERE code_hash = $3",
                        &[key_hash.clone().into(), device_id.to_string().into(), code_hash.clone().into()],
                    )?;
                    Ok((device_id, user))
                }
                Some(used_by) if used_by == key_hash => {
                    // The first answer was lost: same device, fresh token — while the
                    // code is still valid, like the first exchange.
                    if expires < at {
                        return Err(problem(ProblemCode::EnrollmentCodeInvalid, "enrollment code expired"));
                    }
                    let device_id = uuid_of(&row, 2)?;
                    let revoked = t
                        .query_opt("SELECT revoked_at FROM device WHERE id = $1", &[device_id.to_string().into()])?
                        .map(|r| r.text(0))
                        .transpose()?
                        .flatten();
                    if revoked.is_some() {
                        return Err(problem(ProblemCode::DeviceRevoked, "this device was revoked"));
                    }
                    t.exec(
                        "UPDATE device SET token_hash = $1 WHERE id = $2",
                        &[token_hash.clone().into(), device_id.to_string().into()],
                    )?;
                    Ok((device_id, user))
                }
                Some(_) => Err(problem(
                    ProblemCode::EnrollmentCodeUsed,
                    "this code was already used by another device",
                )),
            }
        })?;
        Ok(EnrollResponse {
            device_id,
            token,
            user,
            server_key: self.server_key(),
        })
    }

    /// Finds the device and user of a bearer token.
    pub fn authenticate(&self, token: &str) -> Result<Caller, StoreError> {
        let hash = sha256_hex(token.as_bytes());
        let row = self.tx(|t| {
            t.query_opt(
                "SELECT d.id, d.revoked_at, u.name, u.role, u.jurisdiction, u.disabled_at
                 FROM device d JOIN app_user u ON u.id = d.user_id WHERE d.token_hash = $1",
                &[hash.clone().into()],
            )
            .map_err(StoreError::from)
        })?;
        let Some(row) = row else {
            return self.authenticate_session(&hash);
        };
        if row.text(1)?.is_some() {
            return Err(problem(
                ProblemCode::DeviceRevoked,
                "this device was revoked",
            ));
        }
        if row.text(5)?.is_some() {
            return Err(problem(
                ProblemCode::AccountDisabled,
                "this device's user has been disabled by an administrator",
            ));
        }
        Ok(Caller {
            device_id: uuid_of(&row, 0)?,
            user_name: row.str(2)?,
            role: Role::parse(&row.str(3)?)
                .ok_or_else(|| StoreError::Corrupt("bad role".into()))?,
            jurisdiction: DivisionCode::parse(&row.str(4)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            session: false,
            source: String::new(),
        })
    }

    /// Revokes a device; its token stops working at once. False if no such device.
    pub fn revoke_device(&self, id: Uuid) -> Result<bool, StoreError> {
        self.revoke_device_logged(id, None)
    }

    /// [`Store::revoke_device`], appending `audit` in the same transaction when the
    /// device exists.
    pub fn revoke_device_logged(
        &self,
        id: Uuid,
        audit: Option<&NewEntry>,
    ) -> Result<bool, StoreError> {
        let dialect = self.dialect();
        self.tx(|t| {
            let known = t.exec(
                "UPDATE device SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[ts(now()).into(), id.to_string().into()],
            )? == 1
                || t.query_opt(
                    "SELECT 1 FROM device WHERE id = $1",
                    &[id.to_string().into()],
                )?
                .is_some();
            if let (true, Some(e)) = (known, audit) {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(known)
        })
    }

    /// Every enrolled device.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT d.id, u.name, d.name, d.revoked_at, d.next_seq FROM device d JOIN app_user u ON u.id = d.user_id ORDER BY d.enrolled_at, d.id",
                &[],
            )
            .map_err(StoreError::from)
        })?;
        rows.iter()
            .map(|r| {
                Ok(DeviceInfo {
                    id: uuid_of(r, 0)?,
                    user: r.str(1)?,
                    name: r.text(2)?,
                    revoked: r.text(3)?.is_some(),
                    next_seq: r.int(4)? as u64,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrollment_codes_are_grouped_and_normalise_back() {
        let c = new_enrollment_code();
        assert_eq!(c.len(), 14);
        assert_eq!(normalize_code(&c.to_lowercase()), c.replace('-', ""));
    }
}
