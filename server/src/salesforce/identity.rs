//! Who the connection acts as: the OpenID Connect userinfo endpoint.

use super::client::{Call, SalesforceClient};
use super::error::SalesforceError;
use super::types::UserInfo;
use super::wire::decode;

impl SalesforceClient {
    /// Who the connection acts as (username, user and org IDs), from the OpenID Connect userinfo
    /// endpoint of the instance; after Connect, this names the integration user. Refreshes the
    /// session once on 401 like every other call.
    /// Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm>
    pub async fn userinfo(&self) -> Result<UserInfo, SalesforceError> {
        let (status, body) =
            self.execute(&Call::new(reqwest::Method::GET, "/services/oauth2/userinfo")).await?;
        decode(status, &body)
    }
}
