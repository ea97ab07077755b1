//! The admin side of the doors (through the admin API): join settings, the invitation link,
//! access links and email invitations, pre-stored registrations, access requests.
