//! Locations: a country (ISO 3166-1 alpha-2) and optional finer parts.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{self, Invalid, ValidationErrors};
use super::{ActiveFilter, LocationId, Patch, UserId};

/// An ISO 3166-1 alpha-2 country code, stored upper-case.
///
/// ```
/// use aai_accounts::CountryCode;
/// assert_eq!(CountryCode::parse("de").unwrap().as_str(), "DE");
/// assert!(CountryCode::parse("XX").is_err());
/// ```
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(value_type = String, example = "FR"))]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

/// The officially assigned ISO 3166-1 alpha-2 codes.
const ASSIGNED: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

impl CountryCode {
    /// Validates a country code, ignoring case and surrounding white space.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming `country` when the code is not an
    /// assigned ISO 3166-1 alpha-2 code.
    pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
        Self::check(value)
            .map_err(|invalid| ValidationErrors::single("country", invalid.code, invalid.message))
    }

    pub(crate) fn check(value: &str) -> Result<Self, Invalid> {
        let [a, b] = value.trim().as_bytes() else {
            return Err(Invalid::format(
                "must be a two-letter iso 3166-1 alpha-2 code",
            ));
        };
        if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() {
            return Err(Invalid::format(
                "must be a two-letter iso 3166-1 alpha-2 code",
            ));
        }
        let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
        // ASSIGNED is sorted, one code every three bytes: binary search.
        let assigned = |i: usize| &ASSIGNED.as_bytes()[i * 3..i * 3 + 2];
        let (mut low, mut high) = (0, ASSIGNED.len().div_ceil(3));
        while low < high {
            let middle = (low + high) / 2;
            match assigned(middle).cmp(&code[..]) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(CountryCode(code)),
            }
        }
        Err(Invalid::format(
            "must be an assigned iso 3166-1 alpha-2 code",
        ))
    }

    /// The upper-case code.
    pub fn as_str(&self) -> &str {
        // The two bytes are ASCII upper-case letters (checked in `check`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = ValidationErrors;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> String {
        value.as_str().to_owned()
    }
}

impl std::str::FromStr for CountryCode {
    type Err = ValidationErrors;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        CountryCode::parse(value)
    }
}

/// A place: country and optional state or province, city and postal code.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The location's id.
    pub id: LocationId,
    /// The user who owns it.
    pub user_id: UserId,
    /// The country.
    pub country: CountryCode,
    /// The state, province or region.
    pub state_province: Option<String>,
    /// The city.
    pub city: Option<String>,
    /// The postal code.
    pub postal_code: Option<String>,
    /// `false` once deactivated.
    pub is_active: bool,
    /// When it was created.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// When it was deactivated, if it is.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// A new location.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLocation {
    /// An ISO 3166-1 alpha-2 code, any case.
    pub country: String,
    /// The state, province or region (up to 100 characters).
    #[serde(default)]
    pub state_province: Option<String>,
    /// The city (up to 100 characters).
    #[serde(default)]
    pub city: Option<String>,
    /// The postal code (up to 20 letters, digits, spaces or dashes).
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// The validated fields of a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocationFields {
    pub(crate) country: CountryCode,
    pub(crate) state_province: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) postal_code: Option<String>,
}

fn check_place(value: &str) -> Result<(), Invalid> {
    validate::name(value, 100)
}

fn check_postal_code(value: &str) -> Result<(), Invalid> {
    validate::length(value, 1, 20)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        Ok(())
    } else {
        Err(Invalid::format(
            "may contain only letters, digits, spaces and dashes",
        ))
    }
}

impl NewLocation {
    /// Validates every field, reporting all failures at once.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        self.fields().map(drop)
    }

    pub(crate) fn fields(&self) -> Result<LocationFields, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let country = errors.take("country", CountryCode::check(&self.country));
        if let Some(value) = &self.state_province {
            errors.check("state_province", check_place(value));
        }
        if let Some(value) = &self.city {
            errors.check("city", check_place(value));
        }
        if let Some(value) = &self.postal_code {
            errors.check("postal_code", check_postal_code(value));
        }
        errors.into_result()?;
        match country {
            Some(country) => Ok(LocationFields {
                country,
                state_province: self.state_province.clone(),
                city: self.city.clone(),
                postal_code: self.postal_code.clone(),
            }),
            None => Err(ValidationErrors::single(
                "country",
                "required",
                "must be set",
            )),
        }
    }
}

/// Changes to a location.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationPatch {
    /// A new country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// A new state or province, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub state_province: Patch<String>,
    /// A new city, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub city: Patch<String>,
    /// A new postal code, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub postal_code: Patch<String>,
}

impl LocationPatch {
    /// Applies the patch to a location's current fields, validating what
    /// changes.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field.
    pub fn apply_to(&self, location: &mut Location) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let country = self
            .country
            .as_deref()
            .and_then(|country| errors.take("country", CountryCode::check(country)));
        if let Some(value) = self.state_province.as_set() {
            errors.check("state_province", check_place(value));
        }
        if let Some(value) = self.city.as_set() {
            errors.check("city", check_place(value));
        }
        if let Some(value) = self.postal_code.as_set() {
            errors.check("postal_code", check_postal_code(value));
        }
        errors.into_result()?;
        if let Some(country) = country {
            location.country = country;
        }
        location.state_province = self
            .state_province
            .clone()
            .apply(location.state_province.take());
        location.city = self.city.clone().apply(location.city.take());
        location.postal_code = self.postal_code.clone().apply(location.postal_code.take());
        Ok(())
    }
}

/// Filters for listing locations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationQuery {
    /// Only this user's locations (a regular user always sees only their own).
    pub user_id: Option<UserId>,
    /// Only this country (any case).
    pub country: Option<String>,
    /// Active locations (the default), inactive ones, or both.
    pub active: ActiveFilter,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_upper_cased_and_checked_against_the_list() {
        assert_eq!(CountryCode::parse(" us ").unwrap().as_str(), "US");
        for invalid in ["", "U", "USA", "ZZ", "1A", "ü"] {
            assert!(
                CountryCode::parse(invalid).unwrap_err().has("country"),
                "{invalid}"
            );
        }
        assert_eq!(ASSIGNED.split(' ').count(), 249);
        let codes: Vec<&str> = ASSIGNED.split(' ').collect();
        assert!(
            codes.windows(2).all(|pair| pair[0] < pair[1]),
            "sorted, no duplicates"
        );
        for code in codes {
            assert_eq!(
                CountryCode::parse(&code.to_lowercase()).unwrap().as_str(),
                code
            );
        }
    }

    #[test]
    fn new_location_reports_every_invalid_field() {
        let input = NewLocation {
            country: "XX".into(),
            state_province: Some(String::new()),
            city: Some("c".repeat(101)),
            postal_code: Some("12#45".into()),
        };
        let errors = input.validate().unwrap_err();
        for field in ["country", "state_province", "city", "postal_code"] {
            assert!(errors.has(field), "{field}");
        }
    }
}
