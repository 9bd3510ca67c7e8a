//! ISO 4217 currency codes in use.

const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
    "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
    "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD",
    "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
    "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG",
    "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS",
    "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// The code in upper case if it is a currency in use.
pub fn normalize(code: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    if CODES.binary_search(&upper.as_str()).is_ok() {
        Ok(upper)
    } else {
        Err("must be an ISO 4217 currency code such as EUR or USD".into())
    }
}

/// How many digits of a currency's amounts are minor units (ISO 4217's exponent): 2 for most,
/// none for the yen or the won, 3 for the dinars of Bahrain, Iraq, Jordan, Kuwait, Libya and
/// Tunisia and for the Omani rial.
pub fn minor_digits(code: &str) -> u32 {
    const NONE: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&code) {
        0
    } else if THREE.contains(&code) {
        3
    } else {
        2
    }
}

/// An amount in minor units written as a decimal in the currency's major unit, exactly (no
/// float in between): 1299 EUR is `12.99`, 1299 JPY is `1299`, 1299 KWD is `1.299`.
pub fn decimal(minor: i64, code: &str) -> String {
    let digits = minor_digits(code);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let (major, rest) = (
        minor.unsigned_abs() / scale as u64,
        minor.unsigned_abs() % scale as u64,
    );
    format!("{sign}{major}.{rest:0width$}", width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_and_checked() {
        assert!(
            CODES.windows(2).all(|w| w[0] < w[1]),
            "binary search needs sorted codes"
        );
        assert_eq!(normalize("eur").unwrap(), "EUR");
        assert!(normalize("EURO").is_err());
        assert!(normalize("XYZ").is_err());
    }

    #[test]
    fn amounts_are_written_in_the_currency_s_own_digits() {
        assert_eq!(decimal(1299, "EUR"), "12.99");
        assert_eq!(decimal(1299, "JPY"), "1299");
        assert_eq!(decimal(1299, "KWD"), "1.299");
        assert_eq!(decimal(5, "USD"), "0.05");
        assert_eq!(decimal(100, "GBP"), "1.00");
        assert_eq!(decimal(0, "EUR"), "0.00");
        // Far past what an f64 holds exactly.
        assert_eq!(decimal(9_007_199_254_740_993, "EUR"), "90071992547409.93");
    }
}
